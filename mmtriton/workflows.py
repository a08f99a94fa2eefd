"""The offline pipeline as one typed API: data -> training -> export -> repository -> engines ->
deploy build.

The CLI, the tests, the benchmark and the compose builder all call these functions, so "is the
model there, is it current" is decided in one place. Every step reuses what is current and
rebuilds what is not; every location comes from one ``Artifacts`` (``MMTRITON_ARTIFACTS`` or
``artifacts/``). Progress goes through a small ``Progress`` protocol (the CLI passes rich bars,
everything else the silent default) and messages through ``logging``: nothing here prints.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from mmtriton.errors import DeployError, WorkflowError
from mmtriton.paths import Artifacts

if TYPE_CHECKING:
    from mmtriton.engine.profiles import BuildOptions
    from mmtriton.training.loop import TrainConfig

log = logging.getLogger(__name__)


class Task(Protocol):
    def __call__(self, advance: int = 1, description: Optional[str] = None) -> None: ...


class Progress(Protocol):
    """Starts a progress task of ``total`` units; the returned callable advances it."""

    def __call__(self, description: str, total: int) -> Task: ...


def silent(description: str, total: int) -> Task:
    """The default ``Progress``: reports nothing."""
    return lambda advance=1, description=None: None


@dataclass(frozen=True)
class DataPlan:
    """Sizes and seed of the reference data set (held-out test: unseen voices, fonts, phrasings)."""

    train: int = 3000
    val: int = 600
    test: int = 1200
    seed: int = 0
    workers: int = 0  # processes; 0 = one per core


def ensure_data(art: Artifacts, plan: DataPlan = DataPlan(), force: bool = False,
                progress: Progress = silent, dataset: Optional[Path] = None) -> None:
    """The data set every later step reads: a user's folder (``dataset``: checked, then its
    manifests written; refused with DatasetError when it has problems) or the generated
    reference data; either is reused when identical."""
    if dataset is not None:
        use_dataset(art, dataset, force)
        return
    from mmtriton.data import dataset_info
    from mmtriton.data.generate import default_plans, generate_split

    plans = default_plans(plan.train, plan.val, plan.test, plan.seed)
    if not force and dataset_info.is_current(art.data, plans):
        log.info("data: reusing %s (%d/%d/%d samples)", art.data, plan.train, plan.val, plan.test)
        return
    shutil.rmtree(art.data, ignore_errors=True)
    for split in plans:
        task = progress(f"generating {split.name}", split.count)
        generate_split(split, art.data, plan.workers, on_progress=lambda n, t=task: t(n))
    dataset_info.write_info(art.data, plans)


def check_dataset(folder: Path, preset: str = "demo", decode: bool = True):
    """A user's data set folder judged with the server's decoders and limits (``Checked``);
    ``decode=False`` only reads and hashes (the fingerprint, for reuse)."""
    from mmtriton.data.folder import read_folder
    from mmtriton.data.validate import check_folder
    from mmtriton.preprocess import Preprocessor, check_text
    from mmtriton.spec import get_graph

    graph = get_graph(preset)
    if not decode:
        return check_folder(read_folder(folder), {m: lambda data: None for m in ("image", "audio", "text")})
    pre = Preprocessor(graph)
    return check_folder(read_folder(folder), {"image": pre.image, "audio": pre.audio,
                                              "text": lambda t: check_text(t, graph.preset.text)})


def use_dataset(art: Artifacts, folder: Path, force: bool = False) -> dict:
    """Check ``folder`` and write its manifests to ``art.data`` (reused when its content is
    unchanged); raises DatasetError with every problem, writing nothing, when it does not pass."""
    from mmtriton.data import dataset_info
    from mmtriton.data.imported import write_manifests
    from mmtriton.data.validate import report, summary
    from mmtriton.errors import DatasetError

    quick = check_dataset(folder, decode=False)
    if not force and not quick.problems and dataset_info.is_current_folder(art.data, folder, quick.fingerprint):
        log.info("data: reusing the manifests of %s in %s", folder, art.data)
        return summary(quick)
    checked = check_dataset(folder)
    if checked.problems:
        raise DatasetError(f"{folder}: {len(checked.problems)} problem(s); nothing was written\n"
                           + report(checked.problems), [str(p) for p in checked.problems])
    info = summary(checked)
    shutil.rmtree(art.data, ignore_errors=True)
    write_manifests(checked, art.data)
    dataset_info.write_folder_info(art.data, folder, checked.fingerprint, info)
    log.info("data: %s checked (%s), manifests in %s", folder, info["rows"], art.data)
    return info


def model_record(art: Artifacts, preset: str) -> dict:
    """What a repository records of the model it serves: the checkpoint's hash, its classes and
    the fingerprint of the data set it was trained on (``repository.provenance``)."""
    import hashlib

    ckpt, metrics = art.checkpoint(preset), _training_record(art, preset)
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest() if ckpt.is_file() else None
    return {"checkpoint_sha256": digest, "class_names": metrics.get("class_names"),
            "data_fingerprint": metrics.get("data_fingerprint")}


def check_served_model(art: Artifacts, preset: str, repository: Path) -> None:
    """Refuse a repository written from another checkpoint than the one in ``art`` (RepositoryError);
    nothing to compare when ``art`` holds no checkpoint (a repository copied to another host)."""
    from mmtriton.errors import RepositoryError
    from mmtriton.repository.provenance import provenance_problems

    if not art.checkpoint(preset).is_file():
        log.info("serve: no checkpoint in %s to compare %s with", art.root, repository)
        return
    problems = provenance_problems(repository, model_record(art, preset))
    if problems:
        raise RepositoryError("; ".join(problems) + f"; rebuild it with `mmtriton repo --out {repository}` "
                              "(`make demo` rebuilds model_repository/)")


def require_trained_on(art: Artifacts, preset: str, dataset: Optional[Path]) -> None:
    """For commands that use a trained model (bench, soak): with ``dataset``, its manifests are
    the ones read and the checkpoint must have been trained on it (WorkflowError otherwise)."""
    if dataset is None:
        return
    from mmtriton.data.dataset_info import trained_on

    use_dataset(art, dataset)
    stale = stale_reason(art, preset, trained_on(art.data)[1])
    if stale:
        raise WorkflowError(f"the model in {art.run(preset)} was not trained on {dataset} ({stale}); "
                            f"run `mmtriton demo --dataset {dataset}` first")


def trained_graph(art: Artifacts, preset: str):
    """The spec graph of the trained model in ``art``: its class names (the data set's) come from
    the training record; the reference digit classes when nothing is trained yet."""
    from mmtriton.spec import get_graph

    return get_graph(preset).with_classes(_training_record(art, preset).get("class_names"))


def _training_record(art: Artifacts, preset: str) -> dict:
    """metrics.json of the trained model (classes, data fingerprint); empty before training."""
    path = art.metrics(preset)
    return json.loads(path.read_text()) if path.is_file() else {}


def ensure_trained(art: Artifacts, preset: str, cfg: Optional["TrainConfig"] = None, force: bool = False,
                   progress: Progress = silent) -> dict:
    """Train on the data set in ``art.data`` unless the checkpoint there was trained on exactly
    it (same fingerprint); returns the metrics."""
    from mmtriton.data.dataset_info import trained_on
    from mmtriton.spec import get_graph
    from mmtriton.training.loop import TrainConfig
    from mmtriton.training.run import train_reference

    cfg = check_train_config(cfg or TrainConfig())
    class_names, fingerprint = trained_on(art.data)
    stale = stale_reason(art, preset, fingerprint)
    if not force and stale is None:
        log.info("train: reusing %s (use --force to retrain)", art.checkpoint(preset))
        return json.loads(art.metrics(preset).read_text())
    if stale and art.checkpoint(preset).is_file():
        log.info("train: retraining: %s", stale)
    task = progress("training (features first)", cfg.epochs)

    def on_epoch(epoch: int, loss: float, val_acc: float) -> None:
        task(1, f"epoch {epoch + 1}: loss {loss:.3f} val {val_acc:.3f}")

    graph = get_graph(preset).with_classes(class_names)
    return train_reference(graph, art.data, art.run(preset), cfg, on_epoch, fingerprint)


def check_train_config(cfg: "TrainConfig") -> "TrainConfig":
    """Refuse bad options before any data is generated or checked."""
    if cfg.optimizer not in ("adam", "sgd"):
        raise WorkflowError(f"optimizer must be adam or sgd, not {cfg.optimizer!r}")
    return cfg


def stale_reason(art: Artifacts, preset: str, fingerprint: str) -> Optional[str]:
    """Why the checkpoint in ``art`` cannot be reused for data with ``fingerprint`` (None: it can)."""
    if not art.checkpoint(preset).is_file() or not art.metrics(preset).is_file():
        return "no checkpoint yet"
    from mmtriton.training.checkpoint import FORMAT

    record = _training_record(art, preset)
    written = record.get("checkpoint_format", 1)  # metrics before format 2 did not record it
    if written != FORMAT:
        return f"the checkpoint has format {written}, this code reads {FORMAT}"
    trained = record.get("data_fingerprint")
    if trained != fingerprint:
        return f"the checkpoint was trained on data {str(trained)[:12]}, the data set is {fingerprint[:12]}"
    return None


def export(art: Artifacts, preset: str, progress: Progress = silent) -> dict:
    """Export the encoders and fusion to ONNX and prove parity on real samples; the summary."""
    from mmtriton.export.pipeline import export_all
    from mmtriton.training.checkpoint import load_model

    model, graph, _ = load_model(art.checkpoint(preset))
    task = progress("exporting", 4)
    return export_all(model, graph, art.manifest("test"), art.onnx(preset),
                      on_model=lambda name: task(1, f"exported {name}"))


def ensure_exported(art: Artifacts, preset: str, progress: Progress = silent) -> dict:
    """Reuse ONNX files proven after the current checkpoint was written; export otherwise."""
    from mmtriton.export.pipeline import signature

    report = art.onnx(preset) / "parity.json"
    if report.is_file() and report.stat().st_mtime > art.checkpoint(preset).stat().st_mtime:
        summary = json.loads(report.read_text())
        if summary.get("passed") and summary.get("signature") == signature(trained_graph(art, preset)):
            log.info("export: reusing %s", art.onnx(preset))
            return summary
    return export(art, preset, progress)


def verify_export(art: Artifacts, preset: str, report: Optional[Path] = None) -> tuple[dict, Path]:
    """Re-check the exported ONNX files against the checkpoint; (summary, report path written)."""
    from mmtriton.export.pipeline import verify_existing
    from mmtriton.training.checkpoint import load_model

    model, graph, _ = load_model(art.checkpoint(preset))
    summary = verify_existing(model, graph, art.manifest("test"), art.onnx(preset))
    out = report or art.onnx(preset) / "parity.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    return summary, out


def ensure_model(art: Artifacts, preset: str, progress: Progress = silent,
                 dataset: Optional[Path] = None) -> tuple[dict, dict]:
    """Data (``dataset``: a user's folder; default the generated reference data), training and
    export, each reused when current: (training metrics, parity summary)."""
    ensure_data(art, progress=progress, dataset=dataset)
    metrics = ensure_trained(art, preset, progress=progress)
    return metrics, ensure_exported(art, preset, progress)


def require_built(art: Artifacts, preset: str, need_checkpoint: bool = True) -> None:
    """For commands that run after `make demo` (bench, soak): say what is missing up front."""
    needed = (art.manifest("test"), art.onnx(preset) / "fusion.onnx") + ((art.checkpoint(preset),) if need_checkpoint else ())
    missing = [p for p in needed if not p.is_file()]
    if missing:
        raise WorkflowError(f"missing {', '.join(map(str, missing))}: run `make demo` first (data, model, ONNX)")


def build_repository(art: Artifacts, preset: str, target: str, out: Optional[Path] = None,
                     models: Optional[Path] = None) -> Path:
    """A complete repository for ``target``; the embedded one goes to the checkout's
    ``model_repository/``, others to ``<artifacts>/repositories/<target>`` unless ``out`` says."""
    from mmtriton.repository.config import Target
    from mmtriton.repository.writer import SOURCE, write_repository
    from mmtriton.resources import default_text_model

    tgt = _target(target)
    dest = out or (SOURCE if tgt is Target.EMBEDDED and _in_checkout() else art.root / "repositories" / tgt.value)
    tokenizer = Path(default_text_model()) / "tokenizer.json"
    return write_repository(trained_graph(art, preset), tgt, dest, models or art.onnx(preset), tokenizer,
                            record=model_record(art, preset))


def _target(target: str):
    from mmtriton.repository.config import Target

    try:
        return Target(target)
    except ValueError:
        raise WorkflowError(f"target must be one of {[t.value for t in Target]}, not {target!r}") from None


def engine_options(art: Artifacts, preset: str, precision: str = "fp16", workspace_mib: int = 2048,
                   calibration_batches: int = 16) -> "BuildOptions":
    """Build options with the timing cache shared by every precision of this preset."""
    from mmtriton.engine.profiles import BuildOptions, Precision

    try:
        prec = Precision(precision)
    except ValueError:
        raise WorkflowError(f"precision must be one of {[p.value for p in Precision]}, not {precision!r}") from None
    return BuildOptions(prec, workspace_mib, calibration_batches, art.engines(preset) / "timing.cache")


def build_engines(art: Artifacts, preset: str, options: "BuildOptions",
                  on_model: Optional[Callable] = None) -> Path:
    """TensorRT engines from the exported ONNX files (reused when their manifest matches)."""
    from mmtriton.engine.build import build_engines as build
    from mmtriton.engine.device import current_device

    device = current_device()
    out = art.engines(preset) / options.precision.value
    log.info("engines: %s (compute %s), TensorRT %s, %s -> %s", device.gpu_name, device.compute_capability,
             device.tensorrt_version, options.precision.value, out)
    build(trained_graph(art, preset), art.onnx(preset), out, options, device, art.manifest("val"), on_model=on_model)
    return out


def apply_policy(proposal: Path, to: Optional[Path] = None, preset: str = "demo") -> Path:
    """Make a tuning proposal (``policy.json`` from `mmtriton bench --full`) the serving defaults.

    Default target: the spec's own file, and then the committed embedded configs are regenerated;
    refused when that file is inside an installed package (write ``to`` a file of yours and point
    ``$MMTRITON_SERVING_DEFAULTS`` at it instead)."""
    from mmtriton.repository.config import Target
    from mmtriton.repository.writer import SOURCE, write_configs
    from mmtriton.spec import get_graph
    from mmtriton.spec.serving import DEFAULTS_PATH, PACKAGED_DEFAULTS, load_serving_defaults, save_serving_defaults

    policy = load_serving_defaults(proposal)
    graph = get_graph(preset).with_batching(policy)  # unknown model names are refused here
    target = (to or DEFAULTS_PATH).resolve()
    if _installed(target):
        raise WorkflowError(f"{target} is inside an installed package; use --to FILE and set "
                            "MMTRITON_SERVING_DEFAULTS=FILE for the commands that write repositories "
                            "(repo, demo, deploy-build)")
    evidence = json.loads(proposal.read_text()).get("evidence", str(proposal))
    save_serving_defaults(policy, f"{evidence}; applied from {proposal}", target)
    if target == PACKAGED_DEFAULTS.resolve() and _in_checkout():  # the committed configs follow the spec file
        write_configs(graph, Target.EMBEDDED, SOURCE)
        log.info("regenerated the embedded configs in %s", SOURCE)
    return target


def _installed(path: Path) -> bool:
    """Inside site-packages: never ours to write (a wheel install, not a source checkout)."""
    return bool({"site-packages", "dist-packages"} & set(path.resolve().parts))


def _in_checkout() -> bool:
    """Whether the committed embedded repository is there to write (a source checkout)."""
    from mmtriton.repository.writer import SOURCE

    return SOURCE.is_dir() and not _installed(SOURCE)


def deploy_build(art: Artifacts, preset: str, target: str, out: Path, options: Optional["BuildOptions"] = None,
                 progress: Progress = silent, on_model: Optional[Callable] = None,
                 dataset: Optional[Path] = None) -> Path:
    """The compose builder: model (reused when current), engines (tensorrt), the repository for
    ``target`` and its structural check; raises DeployError when the result is inconsistent."""
    from mmtriton.repository.config import Target
    from mmtriton.repository.structure import repository_problems

    tgt = _target(target)
    if tgt is Target.EMBEDDED:
        raise WorkflowError("deploy-build writes tensorrt or onnxruntime repositories")
    ensure_model(art, preset, progress, dataset)
    models = art.onnx(preset)
    if tgt is Target.TENSORRT:
        models = build_engines(art, preset, options or engine_options(art, preset), on_model)
    path = build_repository(art, preset, target, out, models)
    problems = repository_problems(path, trained_graph(art, preset), tgt, art.onnx(preset))
    if problems:
        raise DeployError("the written repository is inconsistent:\n  " + "\n  ".join(problems))
    return path


def precision_parity(art: Artifacts, preset: str, precisions: tuple[str, ...], samples: int,
                     out: Path, command: str) -> tuple[list, Path]:
    """Convert the exported ONNX to each precision (ModelOpt, calibrated on the validation split),
    run the converted graphs in ONNX Runtime on CPU against PyTorch FP32 on ``samples`` held-out
    samples, write ``<out>/precision.md`` and ``.json``; (results, report path)."""
    import platform

    from mmtriton.engine.converted import ensure_converted
    from mmtriton.engine.precision_report import as_json, measure, to_markdown

    require_built(art, preset)
    graph = trained_graph(art, preset)
    folders = {p: ensure_converted(graph, art.onnx(preset), p, art.manifest("val")) for p in precisions}
    results = measure(graph, art.checkpoint(preset), art.manifest("test"), folders, samples)
    out.mkdir(parents=True, exist_ok=True)
    env = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    (out / "precision.json").write_text(json.dumps(as_json(results), indent=2) + "\n")
    path = out / "precision.md"
    path.write_text(to_markdown(results, command, env))
    return results, path
