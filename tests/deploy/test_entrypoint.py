"""build/triton-entrypoint.sh: checks engines first, then execs tritonserver with the hardened flags,
never printing the admin key. tritonserver and mmtriton are replaced by recorders on PATH: this
tests the script's own logic, the real server runs in the GPU check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "build" / "triton-entrypoint.sh"
RESTRICTED = "model-repository,shared-memory,statistics,trace,logging"


@pytest.fixture()
def sandbox(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.log"
    bin_dir.mkdir()
    for name in ("tritonserver", "mmtriton"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\n')
        tool.chmod(0o755)
    repo = tmp_path / "models"
    (repo / "multimodal").mkdir(parents=True)
    (repo / "multimodal" / "config.pbtxt").write_text("name: 'multimodal'\n")
    return bin_dir, log, repo


def run(bin_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
    return subprocess.run(["bash", str(SCRIPT), "--log-info=true"], capture_output=True, text=True, env=full, timeout=30)


def test_engines_are_checked_then_the_server_runs_locked_down(sandbox):
    bin_dir, log, repo = sandbox
    proc = run(bin_dir, {"TRITON_ADMIN_KEY": "s3cret", "MODEL_REPOSITORY": str(repo)})
    assert proc.returncode == 0, proc.stderr
    check, server = log.read_text().splitlines()
    assert check == f"mmtriton check-engines --repository {repo}"
    args = server.split()[1:]
    assert f"--model-repository={repo}" in args and "--model-control-mode=none" in args
    assert f"--http-restricted-api={RESTRICTED}:admin-key=s3cret" in args
    assert f"--grpc-restricted-protocol={RESTRICTED}:admin-key=s3cret" in args
    assert {"--http-port=8000", "--grpc-port=8001", "--metrics-port=8002", "--exit-timeout-secs=30"} <= set(args)
    assert args[-1] == "--log-info=true", "extra arguments reach tritonserver"
    assert "s3cret" not in proc.stdout + proc.stderr


def test_the_key_can_come_from_a_mounted_secret_file(sandbox, tmp_path):
    bin_dir, log, repo = sandbox
    key = tmp_path / "admin-key"
    key.write_text("fr0m-file\n")
    proc = run(bin_dir, {"TRITON_ADMIN_KEY_FILE": str(key), "MODEL_REPOSITORY": str(repo)})
    assert proc.returncode == 0, proc.stderr
    assert f"--http-restricted-api={RESTRICTED}:admin-key=fr0m-file" in log.read_text().split()
    missing = run(bin_dir, {"TRITON_ADMIN_KEY_FILE": str(tmp_path / "absent"), "MODEL_REPOSITORY": str(repo)})
    assert missing.returncode == 2 and "not readable" in missing.stderr


def test_missing_key_refuses_to_start(sandbox):
    bin_dir, log, repo = sandbox
    proc = run(bin_dir, {"MODEL_REPOSITORY": str(repo)})
    assert proc.returncode != 0 and "TRITON_ADMIN_KEY" in proc.stderr and not log.exists()


def test_empty_model_volume_says_to_run_the_builder(sandbox, tmp_path):
    bin_dir, log, _ = sandbox
    proc = run(bin_dir, {"TRITON_ADMIN_KEY": "k", "MODEL_REPOSITORY": str(tmp_path / "empty")})
    assert proc.returncode == 2 and "builder" in proc.stderr and not log.exists()


def test_failed_engine_check_stops_before_the_server(sandbox):
    bin_dir, log, repo = sandbox
    (bin_dir / "mmtriton").write_text(f'#!/bin/sh\necho "mmtriton $*" >> "{log}"\nexit 2\n')
    proc = run(bin_dir, {"TRITON_ADMIN_KEY": "k", "MODEL_REPOSITORY": str(repo)})
    assert proc.returncode == 2 and [line.split()[0] for line in log.read_text().splitlines()] == ["mmtriton"]


def test_an_engine_mismatch_exit_status_reaches_the_container(sandbox):
    """check-engines exits 78 on wrong engines; the entrypoint must pass it on unchanged (the
    compose restart policy and the operator read it), not turn it into 1."""
    bin_dir, log, repo = sandbox
    (bin_dir / "mmtriton").write_text(f'#!/bin/sh\necho "mmtriton $*" >> "{log}"\nexit 78\n')
    proc = run(bin_dir, {"TRITON_ADMIN_KEY": "k", "MODEL_REPOSITORY": str(repo)})
    assert proc.returncode == 78 and "tritonserver" not in log.read_text()


def test_script_is_executable_and_valid_bash():
    assert os.access(SCRIPT, os.X_OK)
    assert subprocess.run(["bash", "-n", str(SCRIPT)]).returncode == 0


def test_gpu_check_script_is_executable_and_valid_bash():
    script = ROOT / "build" / "gpu_check.sh"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
