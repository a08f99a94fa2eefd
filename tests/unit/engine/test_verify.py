"""The server container refuses engines whose manifest names another GPU or TensorRT release."""

from __future__ import annotations

import pytest

from mmtriton.engine.device import DeviceInfo
from mmtriton.engine.manifest import expected_manifest, write_manifest
from mmtriton.engine.profiles import BuildOptions
from mmtriton.engine.verify import EngineMismatchError, check_engines, engine_problems, engine_warnings, engines_in
from mmtriton.errors import EngineError

BUILT_ON = DeviceInfo("NVIDIA H200", "9.0", "10.13.3.9")


@pytest.fixture()
def repo(graph, tmp_path):
    """A repository laid out as the builder writes it: <model>/1/model.plan + manifest.json."""
    onnx = tmp_path / "src.onnx"
    onnx.write_bytes(b"onnx")
    root = tmp_path / "repo"
    for spec in graph.encoders + (graph.fusion,):
        version = root / spec.name / "1"
        version.mkdir(parents=True)
        (version / "model.plan").write_bytes(b"plan")
        write_manifest(expected_manifest(spec, "demo", onnx, BuildOptions(), BUILT_ON), version / "manifest.json")
    (root / graph.image_preprocess.name / "1").mkdir(parents=True)  # Python models have no plan
    return root


def test_matching_gpu_and_tensorrt_pass(repo, graph):
    assert len(engines_in(repo)) == 4
    assert check_engines(repo, DeviceInfo("NVIDIA H200", "9.0", "10.13.3.9")) == 4


def test_other_gpu_is_refused_with_every_reason_and_the_fix(repo):
    with pytest.raises(EngineError) as e:
        check_engines(repo, DeviceInfo("NVIDIA L40S", "8.9", "10.13.3.9"))
    text = str(e.value)
    assert text.count("compute capability 9.0") == 4 and "docker compose run --rm builder" in text


def test_other_tensorrt_release_is_refused(repo, graph):
    problems = engine_problems(repo, DeviceInfo("NVIDIA H200", "9.0", "10.14.1.48"))
    assert len(problems) == 4 and all("TensorRT 10.13.3.9" in p for p in problems)


def test_plan_without_manifest_is_refused(repo, graph):
    (repo / graph.fusion.name / "1" / "manifest.json").unlink()
    problems = engine_problems(repo, BUILT_ON)
    assert problems == [f"{graph.fusion.name}: {repo / graph.fusion.name / '1' / 'manifest.json'} is missing; "
                        "rebuild with `docker compose run --rm builder`"]


def test_another_product_of_the_same_architecture_is_a_warning_not_a_refusal(repo):
    """An H200 plan on an H100 (both compute 9.0, same TensorRT) runs: refusing it would turn a
    working server into a restart loop."""
    here = DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "10.13.3.9")
    assert engine_problems(repo, here) == []
    assert check_engines(repo, here) == 4
    warnings = engine_warnings(repo, here)
    assert len(warnings) == 4 and all("NVIDIA H200" in w and "NVIDIA H100 80GB HBM3" in w for w in warnings)
    assert engine_warnings(repo, BUILT_ON) == []


def test_a_mismatch_is_its_own_error_type(repo):
    with pytest.raises(EngineMismatchError):
        check_engines(repo, DeviceInfo("NVIDIA H200", "9.0", "11.4.0.1"))


@pytest.mark.parametrize("device,code,says", [
    (DeviceInfo("NVIDIA H200", "9.0", "11.4.0.1"), 78, "docker compose run --rm builder"),
    (DeviceInfo("NVIDIA H100 80GB HBM3", "9.0", "10.13.3.9"), 0, "warning"),
    (BUILT_ON, 0, "4 engine(s) match"),
], ids=["other TensorRT: exit 78", "other product, same architecture: warning", "match"])
def test_check_engines_command_exit_status(repo, monkeypatch, device, code, says):
    from typer.testing import CliRunner

    import mmtriton.engine.device
    from mmtriton.cli import app

    monkeypatch.setattr(mmtriton.engine.device, "current_device", lambda: device)
    result = CliRunner().invoke(app, ["check-engines", "--repository", str(repo)], terminal_width=400)
    assert result.exit_code == code, result.output
    assert says in " ".join(result.output.split())  # the console wraps long lines
