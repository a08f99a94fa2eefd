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


BUILDER = ("--extras", "train,export,builder,dev", "--exclude", "torch,efficientnet-lite-pytorch")


def test_builder_keeps_the_image_torch_and_takes_only_the_grpc_part_of_tritonclient():
    reqs = requirements(*BUILDER)
    names = {r.split("[")[0].split("=")[0].split(">")[0].split("<")[0] for r in reqs}
    assert {"onnx", "onnxruntime", "transformers", "tritonclient", "numpy"} <= names
    assert not names & {"torch", "nvidia-pytriton", "efficientnet-lite-pytorch"}
    assert [r for r in reqs if r.startswith("tritonclient")] == ["tritonclient[grpc]>=2.60,<3"]
    assert len(reqs) == len(set(reqs))
    dockerfile = (ROOT / "build" / "Dockerfile.builder").read_text()
    assert " ".join(BUILDER) in dockerfile, "the Dockerfile installs what this test resolves"
    assert "pip check" in dockerfile and "$PIP_CONSTRAINT_FILE" in dockerfile


def test_only_prints_the_pinned_lines_and_refuses_unknown_names():
    assert requirements("--extras", "train", "--only", "efficientnet-lite-pytorch") == ["efficientnet-lite-pytorch==0.1.0"]
    proc = subprocess.run([sys.executable, str(ROOT / "build" / "requirements.py"), "--only", "torch"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "not among" in proc.stderr


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


def test_the_precision_recipe_names_the_modelopt_release_pyproject_pins():
    """The recipe id (stamped on converted graphs and engine manifests) says which ModelOpt made
    them; it must be the release every install path takes from pyproject's `precision` extra."""
    from mmtriton.engine.precision import MODELOPT

    (pinned,) = requirements("--extras", "precision", "--only", "nvidia-modelopt")
    assert pinned.replace("[onnx]", "") == MODELOPT
    for path in ("build/Dockerfile.builder", "scripts/modelopt-venv.sh"):
        assert "--extras precision --only nvidia-modelopt" in (ROOT / path).read_text(), path
