"""The SDK installs on its own into a fresh venv (tritonclient + numpy) and imports nothing heavy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "onnxruntime", "onnx", "librosa", "PIL", "mmtriton", "tensorrt", "transformers")


def test_client_installs_alone_and_imports_nothing_heavy(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("tritonclient==2.51.0\nnumpy<2\n")  # the versions this project pins
    source = tmp_path / "client"  # a copy, so pip's build folders never land in the checkout
    shutil.copytree(ROOT / "client", source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run(pip + ["install", "-c", str(constraints), str(source)], check=True, timeout=600)
    freeze = subprocess.run(pip + ["freeze"], check=True, capture_output=True, text=True).stdout.lower()
    for heavy in ("torch", "onnxruntime", "librosa", "pillow", "mmtriton=="):
        assert heavy not in freeze, f"{heavy} was installed with the client"
    probe = ("import sys, mmtriton_client; from mmtriton_client import Client, AsyncClient; "
             f"print([m for m in {HEAVY!r} if m in sys.modules])")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
    cli = subprocess.run([str(venv / "bin" / "mmtriton-client"), "predict", "--help"], capture_output=True, text=True)
    assert cli.returncode == 0 and "--manifest" in cli.stdout
