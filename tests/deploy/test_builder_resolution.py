"""The builder image's install, resolved here the way pip resolves it inside the NGC PyTorch image:
for CPython 3.12 on manylinux x86_64, wheels only, with numpy pinned to a 2.x release as the
image's constraint file pins what it ships (only Python 3.12 and numpy 2.x are taken from NGC's
declarations; the rest of the image's constraint file is applied at build time, followed by
`pip check`). A pinned package cannot move, so a resolution that succeeds downgrades nothing
preinstalled; the same resolution with the old numpy<2 core pin fails (the probe can fail).

Reads PyPI (a package registry, like `make setup`); about 20 s per resolution.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ("--extras", "train,export,builder,dev", "--exclude", "torch,efficientnet-lite-pytorch")
NGC_PYTHON = "3.12"
NGC_NUMPY = "2.0.2"  # the oldest numpy 2 release: the image's may be newer, never 1.x
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
# Never resolved from PyPI inside the builder: the image's own (torch, TensorRT), the embedded
# server, the HTTP client stack (geventhttpclient 2.0.2 has no cp312 wheel), a second ONNX Runtime.
FORBIDDEN = {"torch", "tensorrt", "nvidia-pytriton", "geventhttpclient", "aiohttp", "onnxruntime-gpu"}


def _requirements(tmp_path: Path, extra: str = "") -> Path:
    out = subprocess.run([sys.executable, str(ROOT / "build" / "requirements.py"), *BUILDER],
                         capture_output=True, text=True, check=True).stdout
    path = tmp_path / "requirements.txt"
    path.write_text(out + extra)
    return path


def _resolve(tmp_path: Path, requirements: Path) -> subprocess.CompletedProcess:
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"numpy=={NGC_NUMPY}\n")
    platforms = [a for p in PLATFORMS for a in ("--platform", p)]
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
           "--disable-pip-version-check", "--report", str(tmp_path / "report.json"),
           "--python-version", NGC_PYTHON, "--implementation", "cp", "--abi", "cp312", *platforms,
           "--only-binary=:all:", "--target", str(tmp_path / "target"), "-c", str(constraints), "-r", str(requirements)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_the_builder_set_resolves_for_python_312_with_numpy_2_and_changes_nothing_pinned(tmp_path):
    proc = _resolve(tmp_path, _requirements(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = {i["metadata"]["name"].lower(): i["metadata"]["version"]
                 for i in json.loads((tmp_path / "report.json").read_text())["install"]}
    print(f"{len(installed)} packages; tritonclient {installed.get('tritonclient')}, "
          f"protobuf {installed.get('protobuf')}, onnxruntime {installed.get('onnxruntime')}")
    assert installed["numpy"] == NGC_NUMPY, "the image's numpy stays"
    assert not FORBIDDEN & set(installed), FORBIDDEN & set(installed)
    assert "tritonclient" in installed and "grpcio" in installed and "protobuf" in installed


@pytest.mark.parametrize("old_pin", ["numpy<2"])
def test_the_same_resolution_refuses_a_pin_that_would_downgrade_the_image(tmp_path, old_pin):
    proc = _resolve(tmp_path, _requirements(tmp_path, f"{old_pin}\n"))
    assert proc.returncode != 0
    assert "numpy" in proc.stderr and ("conflict" in proc.stderr.lower() or "ResolutionImpossible" in proc.stderr)
