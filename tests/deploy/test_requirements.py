"""build/requirements.py filters pyproject.toml for the NGC images instead of keeping a copy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def requirements(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, str(ROOT / "build" / "requirements.py"), *args],
                          capture_output=True, text=True, check=True)
    return proc.stdout.split()


def test_core_only_is_what_the_server_image_needs():
    import tomllib

    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert requirements() == core
    assert not any(r.startswith(("torch", "onnx", "tritonclient")) for r in core)


def test_builder_keeps_the_image_torch_and_drops_the_embedded_server():
    reqs = requirements("--extras", "train,export,serve", "--exclude", "torch,nvidia-pytriton,protobuf")
    names = {r.split("[")[0].split("=")[0].split(">")[0].split("<")[0] for r in reqs}
    assert {"onnx", "onnxruntime", "transformers", "tritonclient", "numpy"} <= names
    assert not names & {"torch", "nvidia-pytriton", "protobuf"}
    assert len(reqs) == len(set(reqs))


def test_unknown_extra_fails():
    proc = subprocess.run([sys.executable, str(ROOT / "build" / "requirements.py"), "--extras", "nope"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "unknown extra" in proc.stderr
