"""The ``mmtriton`` command: options in, ``mmtriton.workflows`` does the work, ``mmtriton.console``
shows it. No step logic lives here (tests, the benchmark and the compose builder call the same
workflow functions)."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
from pathlib import Path
from typing import Optional

import typer
from rich.logging import RichHandler

from mmtriton import cli_cluster, workflows as wf
from mmtriton.console import (
    console, fail, model_json, print_engine, print_metrics, print_parity, print_spec, progress_bars,
)
from mmtriton.errors import MMTritonError
from mmtriton.paths import Artifacts

app = typer.Typer(help="triton-multimodal: data, training, export, repositories, TensorRT engines, serving, benchmarks.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
PresetOpt = typer.Option("demo", help="Size preset from the spec: demo (CPU) or production (GPU shapes).")
TargetOpt = typer.Option("embedded", help="embedded (Python backend + ONNX Runtime), onnxruntime or tensorrt.")
PrecisionOpt = typer.Option("fp16", help="fp32, fp16, or int8 (calibrated on the validation split).")
WorkspaceOpt = typer.Option(2048, help="TensorRT workspace memory pool limit (MiB).")
CalibrationOpt = typer.Option(16, help="INT8: calibration batches of opt batch size.")
DatasetOpt = typer.Option(None, "--dataset", envvar="MMTRITON_DATASET", file_okay=False,
                          help="Your labelled data set: a folder with metadata.jsonl or metadata.csv "
                               "(default: the generated reference data).")
cli_cluster.register(app)
# Commands of separately installed parts, found by entry point: the benchmark harness
# (`mmtriton-bench`, benchmarks/) adds `bench` and `soak`; the server image has neither.
for _ep in importlib.metadata.entry_points(group="mmtriton.commands"):
    try:
        app.command(_ep.name)(_ep.load())
    except Exception as _e:  # noqa: BLE001 - a broken plugin must not take check-engines down with it
        logging.getLogger(__name__).warning("command %r not loaded: %s", _ep.name, _e)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    # Our own modules log at INFO (the workflow layer reports through logging); others warnings.
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False, show_time=False, show_level=False)])
    logging.getLogger("mmtriton").setLevel(logging.DEBUG if verbose else logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


@app.command()
def spec(preset: str = PresetOpt, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print every model of the serving graph with its tensors, dtypes and dims."""
    from mmtriton.spec import get_graph

    graph = get_graph(preset)
    if as_json:
        typer.echo(json.dumps([model_json(m) for m in graph.models], indent=2))
    else:
        print_spec(graph)


@app.command()
def data(train: int = typer.Option(3000, help="Training samples."), val: int = typer.Option(600, help="Validation samples."),
         test: int = typer.Option(1200, help="Held-out test samples (unseen voices, fonts and caption phrasings)."),
         seed: int = 0, workers: int = typer.Option(0, help="Processes (0: one per core)."),
         force: bool = typer.Option(False, help="Regenerate even if an identical data set exists.")) -> None:
    """Generate the reference data set (synthesised speech, printed and handwritten digits, captions)."""
    try:
        with progress_bars() as bars:
            wf.ensure_data(Artifacts.default(), wf.DataPlan(train, val, test, seed, workers), force, bars)
    except MMTritonError as e:
        fail(e)


@app.command()
def train(preset: str = PresetOpt, epochs: int = 24, batch_size: int = 64, lr: float = 2e-3,
          optimizer: str = typer.Option("adam", help="adam or sgd."), patience: int = 8, seed: int = 0,
          force: bool = typer.Option(False, help="Retrain even if a checkpoint exists."),
          dataset: Optional[Path] = DatasetOpt) -> None:
    """Train on the generated reference data or on your data set (checked first: every problem is
    reported and nothing is written); writes checkpoint.pt and metrics.json."""
    from mmtriton.training.loop import TrainConfig

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, patience=patience, seed=seed)
    art = Artifacts.default()
    try:
        wf.check_train_config(cfg)
        with progress_bars() as bars:
            wf.ensure_data(art, progress=bars, dataset=dataset)
            wf.ensure_trained(art, preset, cfg, force, bars)
    except MMTritonError as e:
        fail(e)


@app.command("validate-dataset")
def validate_dataset(folder: Path = typer.Argument(..., help="Folder with metadata.jsonl or metadata.csv."),
                     preset: str = PresetOpt) -> None:
    """Check a data set with the server's decoders and limits: every problem with its row (at most
    50 shown), exit 2 when there is any; otherwise the rows per split and class."""
    from mmtriton.data.validate import report, summary

    checked = wf.check_dataset(folder, preset)
    if checked.problems:
        console.print(f"[red]{len(checked.problems)} problem(s)[/red] in {folder}:", highlight=False)
        console.print(report(checked.problems), markup=False, highlight=False)
        raise typer.Exit(2)
    info = summary(checked)
    console.print(f"{folder}: {len(info['classes'])} classes, rows per split {info['rows']}", markup=False)
    console.print(json.dumps(info["per_class"]), markup=False, highlight=False)


@app.command()
def export(preset: str = PresetOpt, dataset: Optional[Path] = DatasetOpt) -> None:
    """Export encoders and fusion to ONNX (opset 18, dynamic axes) and prove parity on the data
    set's held-out rows; writes parity.json."""
    art = Artifacts.default()
    try:
        with progress_bars() as bars:
            if dataset is not None:
                wf.ensure_data(art, dataset=dataset)
            summary = wf.export(art, preset, bars)
    except MMTritonError as e:
        fail(e)
    console.print(f"parity: {len(summary['cases'])} cases, max |ORT - torch| = {summary['max_abs_diff']:.2e}")


@app.command()
def parity(preset: str = PresetOpt, report: Optional[Path] = typer.Option(None, help="Where to write the JSON report.")) -> None:
    """Re-check the exported ONNX files against the checkpoint on real samples and write a report."""
    try:
        summary, out = wf.verify_export(Artifacts.default(), preset, report)
    except MMTritonError as e:
        fail(e)
    print_parity(summary)
    console.print(f"report: {out}")


@app.command()
def repo(preset: str = PresetOpt, target: str = TargetOpt,
         out: Optional[Path] = typer.Option(None, help="Output folder (default: model_repository/ for embedded)."),
         models: Optional[Path] = typer.Option(None, help="Folder with <model>.onnx / <model>.plan files.")) -> None:
    """Write a complete Triton model repository (configs generated from the spec + model files)."""
    try:
        path = wf.build_repository(Artifacts.default(), preset, target, out, models)
    except MMTritonError as e:
        fail(e)
    console.print(f"repository ({target}): {path}")


@app.command()
def engines(preset: str = PresetOpt, precision: str = PrecisionOpt, workspace_mib: int = WorkspaceOpt,
            calibration_batches: int = CalibrationOpt) -> None:
    """Build TensorRT engines from the exported ONNX files (GPU + tensorrt package needed); engines
    whose manifest matches are reused."""
    art = Artifacts.default()
    try:
        wf.build_engines(art, preset, wf.engine_options(art, preset, precision, workspace_mib, calibration_batches),
                         print_engine)
    except MMTritonError as e:
        fail(e)


@app.command("precision-parity")
def precision_parity(preset: str = PresetOpt,
                     precision: str = typer.Option("fp16,int8", help="Comma-separated: fp16, int8."),
                     samples: int = typer.Option(1200, help="Held-out samples."),
                     out: Path = typer.Option(Path("benchmarks/results"), help="Where precision.md/.json go.")) -> None:
    """FP16/INT8 ONNX graphs (ModelOpt, needs MMTRITON_MODELOPT_PYTHON: scripts/modelopt-venv.sh) in
    ONNX Runtime on CPU against PyTorch FP32; exit 1 when a target is missed."""
    import sys

    precisions = tuple(p for p in precision.split(",") if p)
    try:
        with console.status("converting and comparing"):
            results, path = wf.precision_parity(Artifacts.default(), preset, precisions, samples, out,
                                                "mmtriton " + " ".join(sys.argv[1:]))
    except MMTritonError as e:
        fail(e)
    for r in results:
        console.print(f"{r.precision}: top-1 {r.top1_agreement:.2%} over {r.samples}, max |dp| {r.max_prob_diff:.2e} "
                      f"-> {'met' if r.met() else 'MISSED'}")
    console.print(f"report: {path}")
    if not all(r.met() for r in results):
        raise typer.Exit(1)


@app.command("check-engines")
def check_engines_cmd(repository: Path = typer.Option(Path("/models"), help="Model repository to check.")) -> None:
    """Refuse (exit 78) when an engine's manifest names another GPU architecture or TensorRT; warn
    when only the GPU product differs. The server container runs this before tritonserver."""
    from mmtriton.engine.device import current_device
    from mmtriton.engine.verify import ENGINE_MISMATCH_EXIT, EngineMismatchError, check_engines, engine_warnings, engines_in

    try:
        if not engines_in(repository):
            console.print(f"check-engines: no TensorRT engines in {repository}; nothing to check")
            return
        device = current_device()
        n = check_engines(repository, device)
    except EngineMismatchError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(ENGINE_MISMATCH_EXIT) from e
    except MMTritonError as e:
        fail(e)
    for warning in engine_warnings(repository, device):
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"check-engines: {n} engine(s) match this GPU and TensorRT")


@app.command("check-repo")
def check_repo(repository: Path = typer.Argument(..., help="Repository folder."), preset: str = PresetOpt,
               target: str = TargetOpt,
               onnx_dir: Optional[Path] = typer.Option(None, help="ONNX files to compare tensor names with."),
               configs_only: bool = typer.Option(False, help="Do not require model files (plans built elsewhere).")) -> None:
    """Check a written repository: ensemble steps exist, configs parse, names and dtypes match the
    spec, the ONNX graphs and the engine manifests."""
    from mmtriton.repository.config import Target
    from mmtriton.repository.structure import repository_problems
    from mmtriton.spec import get_graph

    problems = repository_problems(repository, get_graph(preset), Target(target), onnx_dir, not configs_only)
    for p in problems:
        console.print(f"[red]problem:[/red] {p}")
    if problems:
        raise typer.Exit(2)
    console.print(f"check-repo: {repository} ({target}) is consistent with the spec")


@app.command("deploy-build")
def deploy_build(preset: str = PresetOpt, target: str = typer.Option("tensorrt", help="tensorrt or onnxruntime."),
                 out: Path = typer.Option(Path("/models"), help="Where to write the repository."),
                 precision: str = PrecisionOpt, workspace_mib: int = WorkspaceOpt,
                 calibration_batches: int = CalibrationOpt, dataset: Optional[Path] = DatasetOpt) -> None:
    """The compose `builder` service: data (your data set when one is given or mounted, see
    MMTRITON_DATASET) /model/ONNX (each reused when current), TensorRT engines (tensorrt target),
    the repository for the target, and its structural check."""
    art = Artifacts.default()
    try:
        options = wf.engine_options(art, preset, precision, workspace_mib, calibration_batches)
        with progress_bars() as bars:
            path = wf.deploy_build(art, preset, target, out, options, bars, print_engine, dataset)
    except MMTritonError as e:
        fail(e)
    console.print(f"deploy-build: {target} repository ready in {path}")


@app.command("apply-policy")
def apply_policy(proposal: Path = typer.Argument(..., help="policy.json written by `mmtriton bench --full`."),
                 to: Optional[Path] = typer.Option(None, help="Write here instead of the spec's file (installed "
                                                   "package: then set MMTRITON_SERVING_DEFAULTS for repo/demo/deploy-build).")) -> None:
    """Make a tuning proposal the spec's serving defaults (and regenerate the committed configs)."""
    try:
        console.print(f"serving defaults written to {wf.apply_policy(proposal, to)}")
    except MMTritonError as e:
        fail(e)


@app.command()
def serve(repository: Path = typer.Option(Path("model_repository"), help="Model repository folder."),
          preset: str = PresetOpt,
          host: str = typer.Option("127.0.0.1", help="Bind address (development server: keep it local)."),
          http_port: int = 8000, grpc_port: int = 8001, metrics_port: int = 8002,
          exit_timeout: int = typer.Option(5, help="Seconds in-flight requests get at shutdown."),
          ready_timeout: float = 180.0,
          probe_interval: float = typer.Option(2.0, help="Seconds between deep probes (0: no supervision).")) -> None:
    """Run the embedded Triton (2.51.0 from nvidia-pytriton) in the foreground, supervised by a deep
    probe that restarts it when a model stops answering; Ctrl-C or SIGTERM stops it."""
    from mmtriton.serving.foreground import serve_foreground
    from mmtriton.serving.server import ServerConfig, admin_key

    art = Artifacts.default()
    work = art.triton
    cfg = ServerConfig(repository, host, http_port, grpc_port, metrics_port, exit_timeout, work_dir=work,
                       admin_key=admin_key(work))
    try:
        wf.check_served_model(art, preset, repository)
        serve_foreground(cfg, wf.trained_graph(art, preset), ready_timeout, probe_interval)
    except MMTritonError as e:
        fail(e)


@app.command()
def demo(preset: str = PresetOpt,
         requests: bool = typer.Option(True, help="Start the server and send requests (--no-requests: build only)."),
         dataset: Optional[Path] = DatasetOpt) -> None:
    """Data (generated, or your data set), training, export + parity (each reused when current),
    repository, embedded server, real requests over gRPC and HTTP, then stop."""
    from mmtriton.serving.demo import run_demo_requests

    art = Artifacts.default()
    try:
        with progress_bars() as bars:
            metrics, summary = wf.ensure_model(art, preset, bars, dataset)
        repository = wf.build_repository(art, preset, "embedded")
        print_metrics(metrics)
        console.print(f"ONNX parity: {len(summary['cases'])} cases at batch 1/3/8/max and min/max lengths, "
                      f"max |ORT - torch| = {summary['max_abs_diff']:.2e} (limit 1e-4)")
        if requests:
            run_demo_requests(art, wf.trained_graph(art, preset), repository, console)
    except MMTritonError as e:
        fail(e)


if __name__ == "__main__":
    app()
