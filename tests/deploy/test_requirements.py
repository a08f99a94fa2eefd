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


def test_the_benchmark_harness_is_its_own_part_and_stays_out_of_the_server_image():
    """The harness (FastAPI, matplotlib, perf_analyzer drivers) installs from benchmarks/ on its
    own; the server image copies the core only, the bench image adds the harness."""
    bench = requirements("--pyproject", str(ROOT / "benchmarks" / "pyproject.toml"),
                         "--exclude", "mmtriton,mmtriton-client")
    assert any(r.startswith("fastapi") for r in bench) and any(r.startswith("matplotlib") for r in bench)
    assert not any(r.startswith(("fastapi", "matplotlib", "uvicorn")) for r in requirements("--extras", "serve"))
    copies = {name: [line for line in (ROOT / "build" / name).read_text().splitlines() if line.startswith("COPY")]
              for name in ("Dockerfile.triton", "Dockerfile.bench")}
    assert not any("benchmarks" in line for line in copies["Dockerfile.triton"]), copies["Dockerfile.triton"]
    assert any("benchmarks/mmtriton_bench" in line for line in copies["Dockerfile.bench"])
