from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mmtriton.errors import ServerError
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ServerConfig, check_port_free, command, find_bundle, prepare_backends, server_env


def test_bundle_is_found_and_backends_folder_is_complete(tmp_path):
    bundle = find_bundle()
    assert bundle.binary.is_file()
    backends = prepare_backends(bundle, tmp_path)
    names = {p.name for p in (backends / "python").iterdir()}
    assert {"libtriton_python.so", "triton_python_backend_utils.py", "triton_python_backend_stub"} <= names


def test_command_binds_localhost_on_standard_ports_by_default(tmp_path):
    args = command(ServerConfig(tmp_path), tmp_path)
    for flag in ("--http-address=127.0.0.1", "--grpc-address=127.0.0.1", "--metrics-address=127.0.0.1",
                 "--http-port=8000", "--grpc-port=8001", "--metrics-port=8002"):
        assert flag in args
    assert any(a.startswith("--exit-timeout-secs=") for a in args)


def test_environment_puts_the_venv_first_and_the_bundled_libraries_on_the_path(tmp_path):
    import sys

    env = server_env(find_bundle(), tmp_path)
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert "nvidia_pytriton.libs" in env["LD_LIBRARY_PATH"].split(":")[0]
    assert env["NUMBA_CACHE_DIR"]


def test_a_taken_port_is_reported_before_starting(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(ServerError, match=f"port 127.0.0.1:{port} is in use"):
            check_port_free("127.0.0.1", port)


def test_a_missing_repository_is_a_clear_error(tmp_path):
    with pytest.raises(ServerError, match="mmtriton repo"):
        EmbeddedServer(ServerConfig(tmp_path / "nothing")).start()


def test_restricted_apis_need_the_key_and_the_key_stays_out_of_reprs(tmp_path):
    from mmtriton.serving.server import RESTRICTED_APIS

    cfg = ServerConfig(tmp_path, admin_key="k3y")
    args = command(cfg, tmp_path)
    apis = ",".join(RESTRICTED_APIS)
    assert f"--http-restricted-api={apis}:admin-key=k3y" in args
    assert f"--grpc-restricted-protocol={apis}:admin-key=k3y" in args
    assert "--model-control-mode=none" in args
    assert "k3y" not in repr(cfg) and cfg.admin_headers == {"admin-key": "k3y"}
    assert not any(a.startswith(("--http-restricted", "--grpc-restricted")) for a in command(ServerConfig(tmp_path), tmp_path))


def test_admin_key_comes_from_the_environment_or_a_private_file(tmp_path, monkeypatch):
    import stat

    from mmtriton.serving.server import ADMIN_KEY_ENV, admin_key

    monkeypatch.delenv(ADMIN_KEY_ENV, raising=False)
    key = admin_key(tmp_path)
    assert len(key) >= 32 and admin_key(tmp_path) == key, "generated once, then reused"
    assert stat.S_IMODE((tmp_path / "admin-key").stat().st_mode) == 0o600
    monkeypatch.setenv(ADMIN_KEY_ENV, "from-env")
    assert admin_key(tmp_path) == "from-env"
