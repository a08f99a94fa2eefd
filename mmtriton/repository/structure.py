"""Structural checks of a written repository, for any target, without starting a server.

What Triton would only report at load time (or never: a dtype that silently converts) is
checked here: every model an ensemble names exists and its config parses into Triton's
``ModelConfig``; config tensors equal the spec in name and dtype; the model files exist; and
the tensor names and dtypes of the ONNX graphs (or the engine manifests) equal the configs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from mmtriton.repository.config import Target
from mmtriton.repository.writer import ARTIFACT_NAME, runs_in_python
from mmtriton.spec.dtypes import DType, from_numpy
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec


def parse_config(path: Path):
    """``config.pbtxt`` -> ModelConfig protobuf (raises text_format.ParseError on bad text)."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as pb

    return text_format.Parse(path.read_text(), pb.ModelConfig())


def _config_io(cfg) -> tuple[dict[str, str], dict[str, str]]:
    from tritonclient.grpc import model_config_pb2 as pb

    def names(ts) -> dict[str, str]:
        return {t.name: pb.DataType.Name(t.data_type) for t in ts}

    return names(cfg.input), names(cfg.output)


def _spec_io(spec: ModelSpec) -> tuple[dict[str, str], dict[str, str]]:
    return ({t.name: t.dtype.triton_config for t in spec.inputs}, {t.name: t.dtype.triton_config for t in spec.outputs})


def onnx_io(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Graph inputs/outputs of an ONNX file as name -> Triton config dtype (via the dtype table)."""
    import onnx
    from onnx import helper

    model = onnx.load(str(path), load_external_data=False)

    def names(values) -> dict[str, str]:
        return {v.name: from_numpy(helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type)).triton_config
                for v in values}

    return names(model.graph.input), names(model.graph.output)


def manifest_io(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Engine IO recorded by the builder (read from the engine itself) as Triton config dtypes."""
    from mmtriton.engine.manifest import read_manifest

    m = read_manifest(path)
    return ({n: DType[d].triton_config for n, d in m.inputs.items()}, {n: DType[d].triton_config for n, d in m.outputs.items()})


def _compare(what: str, got: tuple[dict, dict], want: tuple[dict, dict]) -> list[str]:
    out = []
    for kind, g, w in (("inputs", got[0], want[0]), ("outputs", got[1], want[1])):
        if g != w:
            out.append(f"{what} {kind} {g} differ from {w}")
    return out


def _model_problems(spec: ModelSpec, graph: ModelGraph, target: Target, repo: Path,
                    onnx_dir: Optional[Path], require_files: bool) -> list[str]:
    cfg_path = repo / spec.name / "config.pbtxt"
    if not cfg_path.is_file():
        return [f"{spec.name}: {cfg_path} is missing"]
    cfg = parse_config(cfg_path)
    problems = _compare(f"{spec.name}: config", _config_io(cfg), _spec_io(spec))
    version = repo / spec.name / "1"
    if runs_in_python(spec, graph, target):
        if cfg.backend != "python" or (require_files and not (version / "model.py").is_file()):
            problems.append(f"{spec.name}: expected a Python-backend model with 1/model.py")
    tokenizer = version / "tokenizer.json"
    if spec is graph.text_preprocess and require_files and not tokenizer.is_file():
        problems.append(f"{spec.name}: {tokenizer} is missing")
    if spec in graph.encoders or spec is graph.fusion:
        problems += _native_problems(spec, target, version, onnx_dir, require_files, _config_io(cfg))
    return problems


def _native_problems(spec: ModelSpec, target: Target, version: Path, onnx_dir: Optional[Path],
                     require_files: bool, config_io) -> list[str]:
    problems = []
    artifact = version / ARTIFACT_NAME[target]
    if require_files and not artifact.is_file():
        problems.append(f"{spec.name}: {artifact} is missing")
    source = artifact if artifact.suffix == ".onnx" and artifact.is_file() else (
        onnx_dir / f"{spec.name}.onnx" if onnx_dir else None)
    if source is not None and source.is_file():
        problems += _compare(f"{spec.name}: ONNX graph {source.name}", onnx_io(source), config_io)
    manifest = version / "manifest.json"
    if target is Target.TENSORRT and (require_files or manifest.is_file()):
        if not manifest.is_file():
            problems.append(f"{spec.name}: {manifest} is missing")
        else:
            problems += _compare(f"{spec.name}: engine", manifest_io(manifest), config_io)
    return problems


def repository_problems(repo: Path, graph: ModelGraph, target: Target, onnx_dir: Optional[Path] = None,
                        require_files: bool = True) -> list[str]:
    """Every inconsistency found; an empty list means the repository is whole.

    ``require_files=False`` checks configs only (a tensorrt repository written where no GPU can
    build its plans); ``onnx_dir`` supplies the graphs to compare against in that case.
    """
    problems = []
    for ens in graph.ensembles:
        cfg_path = repo / ens.name / "config.pbtxt"
        if not cfg_path.is_file():
            problems.append(f"{ens.name}: {cfg_path} is missing")
            continue
        steps = [s.model_name for s in parse_config(cfg_path).ensemble_scheduling.step]
        problems += [f"{ens.name}: step model {m!r} has no folder in {repo}" for m in steps
                     if not (repo / m / "config.pbtxt").is_file()]
    for spec in graph.models:
        problems += _model_problems(spec, graph, target, repo, onnx_dir, require_files)
    return problems
