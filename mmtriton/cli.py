"""The ``mmtriton`` command: one subcommand per step (data, train, export, parity, demo)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.progress import Progress
from rich.table import Table

from mmtriton.errors import DeployError, MMTritonError
from mmtriton.paths import Artifacts

app = typer.Typer(help="triton-multimodal: data, training, export, repositories, TensorRT engines, serving, benchmarks.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
console = Console()
PresetOpt = typer.Option("demo", help="Size preset from the spec: demo (CPU) or production (GPU shapes).")


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging.")) -> None:
    # Our own modules log at INFO; third-party libraries only warnings and above.
    logging.basicConfig(level=logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=console, show_path=False)])
    logging.getLogger("mmtriton").setLevel(logging.DEBUG if verbose else logging.INFO)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def fail(error: MMTritonError) -> None:
    console.print(f"[red]error:[/red] {error}")
    raise typer.Exit(2)


@app.command()
def spec(preset: str = PresetOpt, as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print every model of the serving graph with its tensors, dtypes and dims."""
    from mmtriton.spec import get_graph

    graph = get_graph(preset)
    if as_json:
        typer.echo(json.dumps([_model_json(m) for m in graph.models], indent=2))
        return
    table = Table("model", "direction", "tensor", "dtype", "dims", "max batch")
    for m in graph.models:
        for direction, tensors in (("in", m.inputs), ("out", m.outputs)):
            for t in tensors:
                table.add_row(m.name, direction, t.name, t.dtype.name, str(list(t.config_dims)), str(m.max_batch_size))
    console.print(table)


def _model_json(m) -> dict:
    def tensors(ts) -> list[dict]:
        return [{"name": t.name, "dtype": t.dtype.name, "dims": list(t.config_dims)} for t in ts]

    return {"name": m.name, "max_batch_size": m.max_batch_size, "inputs": tensors(m.inputs), "outputs": tensors(m.outputs)}


@app.command()
def data(train: int = typer.Option(3000, help="Training samples."), val: int = typer.Option(600, help="Validation samples."),
         test: int = typer.Option(1200, help="Held-out test samples (unseen voices and fonts)."),
         seed: int = 0, workers: int = typer.Option(0, help="Processes (0: one per core)."),
         force: bool = typer.Option(False, help="Regenerate even if an identical data set exists.")) -> None:
    """Generate the reference data set (espeak-ng speech, Pillow-rendered digits, captions)."""
    try:
        ensure_data(Artifacts.default(), train, val, test, seed, workers, force)
    except MMTritonError as e:
        fail(e)


def ensure_data(art: Artifacts, train: int = 3000, val: int = 600, test: int = 1200, seed: int = 0,
                workers: int = 0, force: bool = False) -> None:
    from mmtriton.data import dataset_info
    from mmtriton.data.generate import default_plans, generate_split

    plans = default_plans(train, val, test, seed)
    if not force and dataset_info.is_current(art.data, plans):
        console.print(f"data: reusing {art.data} ({train}/{val}/{test} samples)")
        return
    shutil.rmtree(art.data, ignore_errors=True)
    with Progress(console=console) as progress:
        for plan in plans:
            task = progress.add_task(f"generating {plan.name}", total=plan.count)
            generate_split(plan, art.data, workers, on_progress=lambda n, t=task: progress.advance(t, n))
    dataset_info.write_info(art.data, plans)


@app.command()
def train(preset: str = PresetOpt, epochs: int = 30, batch_size: int = 64, lr: float = 2e-3,
          optimizer: str = typer.Option("adam", help="adam or sgd."), patience: int = 5, seed: int = 0,
          force: bool = typer.Option(False, help="Retrain even if a checkpoint exists.")) -> None:
    """Train the reference model on the generated data; writes checkpoint.pt and metrics.json."""
    from mmtriton.training.loop import TrainConfig

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, patience=patience, seed=seed)
    try:
        ensure_trained(Artifacts.default(), preset, cfg, force)
    except MMTritonError as e:
        fail(e)


def ensure_trained(art: Artifacts, preset: str, cfg=None, force: bool = False) -> dict:
    from mmtriton.spec import get_graph
    from mmtriton.training.loop import TrainConfig
    from mmtriton.training.run import train_reference

    if not force and art.checkpoint(preset).is_file() and art.metrics(preset).is_file():
        console.print(f"train: reusing {art.checkpoint(preset)} (use --force to retrain)")
        return json.loads(art.metrics(preset).read_text())
    cfg = cfg or TrainConfig()
    if cfg.optimizer not in ("adam", "sgd"):
        raise typer.BadParameter("optimizer must be adam or sgd")
    with Progress(console=console) as progress:
        task = progress.add_task("training (features first)", total=cfg.epochs)

        def on_epoch(epoch: int, loss: float, val_acc: float) -> None:
            progress.update(task, advance=1, description=f"epoch {epoch + 1}: loss {loss:.3f} val {val_acc:.3f}")

        return train_reference(get_graph(preset), art.data, art.run(preset), cfg, on_epoch)


@app.command()
def export(preset: str = PresetOpt) -> None:
    """Export encoders and fusion to ONNX (opset 18, dynamic axes) and prove parity; writes parity.json."""
    try:
        summary = run_export(Artifacts.default(), preset)
    except MMTritonError as e:
        fail(e)
    console.print(f"parity: {len(summary['cases'])} cases, max |ORT - torch| = {summary['max_abs_diff']:.2e}")


def ensure_exported(art: Artifacts, preset: str) -> dict:
    """Reuse ONNX files proven after the current checkpoint was written; export otherwise."""
    from mmtriton.export.pipeline import signature
    from mmtriton.spec import get_graph

    report = art.onnx(preset) / "parity.json"
    if report.is_file() and report.stat().st_mtime > art.checkpoint(preset).stat().st_mtime:
        summary = json.loads(report.read_text())
        if summary.get("passed") and summary.get("signature") == signature(get_graph(preset)):
            console.print(f"export: reusing {art.onnx(preset)}")
            return summary
    return run_export(art, preset)


def run_export(art: Artifacts, preset: str) -> dict:
    from mmtriton.export.pipeline import export_all
    from mmtriton.training.checkpoint import load_model

    model, graph, _ = load_model(art.checkpoint(preset))
    with Progress(console=console) as progress:
        task = progress.add_task("exporting", total=4)
        return export_all(model, graph, art.manifest("test"), art.onnx(preset),
                          on_model=lambda name: progress.update(task, advance=1, description=f"exported {name}"))


@app.command()
def parity(preset: str = PresetOpt, report: Optional[Path] = typer.Option(None, help="Where to write the JSON report.")) -> None:
    """Re-check the exported ONNX files against the checkpoint on real samples and write a report."""
    from mmtriton.export.pipeline import verify_existing
    from mmtriton.training.checkpoint import load_model

    art = Artifacts.default()
    try:
        model, graph, _ = load_model(art.checkpoint(preset))
        summary = verify_existing(model, graph, art.manifest("test"), art.onnx(preset))
    except MMTritonError as e:
        fail(e)
    out = report or art.onnx(preset) / "parity.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")
    print_parity(summary)
    console.print(f"report: {out}")


def print_parity(summary: dict) -> None:
    table = Table("model", "case", "shapes", "max |diff|", "ok")
    for c in summary["cases"]:
        shapes = ", ".join(f"{k}{v}" for k, v in c["shapes"].items())
        table.add_row(c["model"], c["case"], shapes, f"{c['max_abs_diff']:.1e}", "yes" if c["passed"] else "NO")
    console.print(table)


def print_metrics(metrics: dict) -> None:
    test = metrics["test"]
    table = Table("held-out test (unseen voices + fonts)", "accuracy", "present-only accuracy",
                  title=f"preset {metrics['preset']}: {metrics['samples']['test']} test samples")
    table.add_row("fused (all modalities)", f"{test['fused']:.4f}", "")
    for name, acc in test["single_modality"].items():
        table.add_row(f"{name} only", f"{acc:.4f}", f"{test['present_only'][name]:.4f}")
    console.print(table)
    console.print(f"fused - best single modality = {test['fused_minus_best_single'] * 100:.1f} points; "
                  f"training took {metrics['seconds']['total']:.0f} s ({metrics['epochs_run']} epochs)")


TargetOpt = typer.Option("embedded", help="embedded (Python backend + ONNX Runtime), onnxruntime or tensorrt.")


@app.command()
def repo(preset: str = PresetOpt, target: str = TargetOpt,
         out: Optional[Path] = typer.Option(None, help="Output folder (default: model_repository/ for embedded)."),
         models: Optional[Path] = typer.Option(None, help="Folder with <model>.onnx / <model>.plan files.")) -> None:
    """Write a complete Triton model repository (configs generated from the spec + model files)."""
    try:
        path = build_repository(Artifacts.default(), preset, target, out, models)
    except MMTritonError as e:
        fail(e)
    console.print(f"repository ({target}): {path}")


def build_repository(art: Artifacts, preset: str, target: str, out: Optional[Path] = None,
                     models: Optional[Path] = None) -> Path:
    from mmtriton.repository.config import Target
    from mmtriton.repository.writer import SOURCE, write_repository
    from mmtriton.resources import default_text_model
    from mmtriton.spec import get_graph

    tgt = Target(target)
    dest = out or (SOURCE if tgt is Target.EMBEDDED else art.root / "repositories" / tgt.value)
    tokenizer = Path(default_text_model()) / "tokenizer.json"
    return write_repository(get_graph(preset), tgt, dest, models or art.onnx(preset), tokenizer)


PrecisionOpt = typer.Option("fp16", help="fp32, fp16, or int8 (calibrated on the validation split).")


def _build_options(art: Artifacts, preset: str, precision: str, workspace_mib: int, calibration_batches: int):
    from mmtriton.engine.profiles import BuildOptions, Precision

    try:
        prec = Precision(precision)
    except ValueError:
        raise typer.BadParameter(f"precision must be one of {[p.value for p in Precision]}") from None
    return BuildOptions(prec, workspace_mib, calibration_batches, art.run(preset) / "engines" / "timing.cache")


def engines_dir(art: Artifacts, preset: str, precision: str) -> Path:
    return art.run(preset) / "engines" / precision


@app.command()
def engines(preset: str = PresetOpt, precision: str = PrecisionOpt,
            workspace_mib: int = typer.Option(2048, help="TensorRT workspace memory pool limit (MiB)."),
            calibration_batches: int = typer.Option(16, help="INT8: calibration batches of opt batch size.")) -> None:
    """Build TensorRT engines from the exported ONNX files (GPU + tensorrt package needed); engines
    whose manifest matches are reused."""
    art = Artifacts.default()
    try:
        run_engines(art, preset, _build_options(art, preset, precision, workspace_mib, calibration_batches))
    except MMTritonError as e:
        fail(e)


def run_engines(art: Artifacts, preset: str, options) -> Path:
    from mmtriton.engine.build import build_engines
    from mmtriton.engine.device import current_device
    from mmtriton.spec import get_graph

    device = current_device()
    out = engines_dir(art, preset, options.precision.value)
    console.print(f"engines: {device.gpu_name} (compute {device.compute_capability}), TensorRT "
                  f"{device.tensorrt_version}, {options.precision.value} -> {out}")
    build_engines(get_graph(preset), art.onnx(preset), out, options, device, art.manifest("val"),
                  on_model=lambda r: console.print(f"  {r.model}: {r.status}"
                                                   + (f" in {r.seconds:.0f} s ({'; '.join(r.reasons)})" if r.reasons else "")))
    return out


@app.command("check-engines")
def check_engines_cmd(repository: Path = typer.Option(Path("/models"), help="Model repository to check.")) -> None:
    """Refuse (exit 2) when an engine's manifest does not match this GPU and TensorRT; the server
    container runs this before tritonserver."""
    from mmtriton.engine.device import current_device
    from mmtriton.engine.verify import check_engines, engines_in

    try:
        if not engines_in(repository):
            console.print(f"check-engines: no TensorRT engines in {repository}; nothing to check")
            return
        n = check_engines(repository, current_device())
    except MMTritonError as e:
        fail(e)
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
                 precision: str = PrecisionOpt, workspace_mib: int = 2048, calibration_batches: int = 16) -> None:
    """The compose `builder` service: data/model/ONNX (each reused when present), TensorRT engines
    (tensorrt target), the repository for the target, and its structural check."""
    from mmtriton.repository.config import Target
    from mmtriton.repository.structure import repository_problems
    from mmtriton.spec import get_graph

    art = Artifacts.default()
    try:
        tgt = Target(target)
        if tgt is Target.EMBEDDED:
            raise typer.BadParameter("deploy-build writes tensorrt or onnxruntime repositories")
        ensure_data(art)
        ensure_trained(art, preset)
        ensure_exported(art, preset)
        models = art.onnx(preset)
        if tgt is Target.TENSORRT:
            models = run_engines(art, preset, _build_options(art, preset, precision, workspace_mib, calibration_batches))
        path = build_repository(art, preset, target, out, models)
        problems = repository_problems(path, get_graph(preset), tgt, art.onnx(preset))
    except MMTritonError as e:
        fail(e)
    if problems:
        fail(DeployError("the written repository is inconsistent:\n  " + "\n  ".join(problems)))
    console.print(f"deploy-build: {target} repository ready in {path}")


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
    import signal
    import threading

    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ADMIN_KEY_ENV, RESTRICTED_APIS, ServerConfig, admin_key
    from mmtriton.serving.supervisor import DeepProbe, Supervisor
    from mmtriton.spec import get_graph

    work = Path("artifacts/triton")
    cfg = ServerConfig(repository, host, http_port, grpc_port, metrics_port, exit_timeout, work_dir=work,
                       admin_key=admin_key(work))
    server, stop = EmbeddedServer(cfg), threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    supervisor = Supervisor(server, DeepProbe(get_graph(preset), cfg.http_url), max(probe_interval, 0.5))
    try:
        server.start(ready_timeout, stream_log=True)
        console.print(f"ready: HTTP {cfg.http_url}, gRPC {cfg.grpc_url}, metrics {cfg.host}:{cfg.metrics_port} "
                      "(development server; Ctrl-C stops it)")
        console.print(f"restricted APIs ({', '.join(RESTRICTED_APIS)}) need header `admin-key`: the key is "
                      f"${ADMIN_KEY_ENV} or the file {work / 'admin-key'}")
        if probe_interval > 0:
            supervisor.start()
        stop.wait()
    except MMTritonError as e:
        fail(e)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        supervisor.stop()
        server.stop()


@app.command()
def demo(preset: str = PresetOpt,
         requests: bool = typer.Option(True, help="Start the server and send requests (--no-requests: build only).")) -> None:
    """Data, training, export + parity (each reused when present), repository, embedded server,
    real requests over gRPC and HTTP, then stop."""
    from mmtriton.serving.demo import run_demo_requests

    art = Artifacts.default()
    try:
        ensure_data(art)
        metrics = ensure_trained(art, preset)
        summary = ensure_exported(art, preset)
        repository = build_repository(art, preset, "embedded")
        print_metrics(metrics)
        console.print(f"ONNX parity: {len(summary['cases'])} cases at batch 1/3/8/max and min/max lengths, "
                      f"max |ORT - torch| = {summary['max_abs_diff']:.2e} (limit 1e-4)")
        if requests:
            run_demo_requests(art, preset, repository, console)
    except MMTritonError as e:
        fail(e)


@app.command()
def bench(preset: str = PresetOpt,
          full: bool = typer.Option(False, "--full", help="Every model, c=1..32, tuning sweep (about 40 min on 2 cores)."),
          name: Optional[str] = typer.Option(None, help="Report name: benchmarks/results/<name>.md (default quick/full)."),
          url: Optional[str] = typer.Option(None, help="Measure a running server (gRPC host:port) instead of starting one."),
          http_url: Optional[str] = typer.Option(None, help="Its HTTP host:port (default: gRPC port - 1)."),
          out: Path = typer.Option(Path("benchmarks/results"), help="Where reports go."),
          items: Optional[int] = typer.Option(None, help="Held-out items in the workload."),
          levels: Optional[str] = typer.Option(None, help="Concurrency levels, e.g. 1,4,8."),
          protocols: Optional[str] = typer.Option(None, help="perf_analyzer protocols, e.g. grpc,http or http."),
          triton_only: bool = typer.Option(False, "--triton-only", help="Only sweep the server at --url (no baselines).")) -> None:
    """perf_analyzer sweeps with real held-out inputs against the in-process floor, a FastAPI +
    PyTorch eager service and Triton without dynamic batching; writes markdown, CSV and plots."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mmtriton.bench.plan import make_plan
    from mmtriton.bench.report import write_report
    from mmtriton.bench.run import ensure_artifacts, run_bench
    from mmtriton.bench.tracker import Tracker

    art = Artifacts.default()
    lv = tuple(int(x) for x in levels.split(",")) if levels else None
    if url and not http_url:
        host, _, port = url.rpartition(":")
        http_url = f"{host}:{int(port) - 1}"
    protos = tuple(protocols.split(",")) if protocols else None
    plan = make_plan(full, name, preset=preset, url=url, http_url=http_url, out_dir=out, items=items, levels=lv,
                     protocols=protos, triton_only=triton_only or None)
    custom = name or url or items or levels or protocols or triton_only
    command = "make bench FULL=1" if full and not custom else \
        ("make bench" if not (full or custom) else "mmtriton bench " + " ".join(sys.argv[2:]))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        ensure_artifacts(art, preset, need_checkpoint=not triton_only)
        with Progress(*columns, console=console) as progress:
            res = run_bench(plan, art, Tracker(progress))
        path = write_report(res, command)
    except MMTritonError as e:
        fail(e)
    from mmtriton.bench.goals import evaluate

    for g in evaluate(res):
        console.print(f"{'met' if g.met else 'MISSED' if g.met is False else 'n/a':>6}  {g.name}: {g.measured}")
    console.print(f"report: {path}")


@app.command()
def soak(preset: str = PresetOpt, minutes: float = typer.Option(10.0, help="How long to drive the ensemble."),
         concurrency: int = typer.Option(16, help="Closed-loop concurrency (the saturation point on 2 cores)."),
         warmup: float = typer.Option(60.0, help="Seconds before RSS growth is counted."),
         out: Path = typer.Option(Path("benchmarks/results/soak"), help="Report folder.")) -> None:
    """Drive the ensemble at saturation with perf_analyzer while sampling RSS per process, /dev/shm
    and Triton's metrics; writes a report with plots and exits 1 if a check fails."""
    from mmtriton.bench.run import ensure_artifacts
    from mmtriton.bench.soak import SoakConfig, run_soak
    from mmtriton.bench.soak_report import write_report
    from mmtriton.spec import get_graph

    art = Artifacts.default()
    cfg = SoakConfig(seconds=minutes * 60, warmup_s=min(warmup, minutes * 20), concurrency=concurrency)
    try:
        ensure_artifacts(art, preset, need_checkpoint=False)
        res = run_soak(get_graph(preset), art.onnx(preset), art.manifest("test"), art.root / "soak", cfg,
                       on_window=lambda r: console.print(f"  {len(r.windows)} windows, "
                                                         f"last {r.windows[-1]['throughput'] if r.windows else 0:.1f}/s"))
    except MMTritonError as e:
        fail(e)
    path = write_report(res, out, "mmtriton soak " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "make soak")
    for name, ok in res.verdict().items():
        console.print(f"{'pass' if ok else 'FAIL':>5}  {name}")
    console.print(f"report: {path}")
    if not all(res.verdict().values()):
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
