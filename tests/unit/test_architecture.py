"""Dependencies point one way: the import-linter contracts in pyproject.toml hold for the package,
and the same check fails on a copy with one backwards import (so a passing run means something)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_dependency_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_backwards_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "mmtriton", tmp_path / "mmtriton", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "mmtriton" / "engine" / "manifest.py").open("a") as f:
        f.write("\n\ndef _probe():\n    import mmtriton.serving.demo  # noqa: F401 - engine is below serving\n")
    with (tmp_path / "mmtriton" / "serving" / "models.py").open("a") as f:
        f.write("\n\ndef _probe():\n    import mmtriton_client  # noqa: F401 - the core must not import the SDK\n"
                "    import mmtriton_bench.plan  # noqa: F401 - nor the benchmark harness\n")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "mmtriton.engine.manifest -> mmtriton.serving.demo" in result.stdout
    assert "mmtriton.serving.models -> mmtriton_client" in result.stdout
    assert "mmtriton.serving.models -> mmtriton_bench.plan" in result.stdout
