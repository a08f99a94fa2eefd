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
