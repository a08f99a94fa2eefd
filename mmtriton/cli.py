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

from mmtriton.errors import MMTritonError
from mmtriton.paths import Artifacts

app = typer.Typer(help="triton-multimodal: data, training, export (later: repo, serve, bench).",
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


@app.command()
def serve(repository: Path = typer.Option(Path("model_repository"), help="Model repository folder."),
          host: str = typer.Option("127.0.0.1", help="Bind address (development server: keep it local)."),
          http_port: int = 8000, grpc_port: int = 8001, metrics_port: int = 8002,
          exit_timeout: int = typer.Option(5, help="Seconds in-flight requests get at shutdown."),
          ready_timeout: float = 180.0) -> None:
    """Run the embedded Triton (2.51.0 from nvidia-pytriton) in the foreground; Ctrl-C stops it."""
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig

    cfg = ServerConfig(repository, host, http_port, grpc_port, metrics_port, exit_timeout)
    server = EmbeddedServer(cfg)
    try:
        server.start(ready_timeout, stream_log=True)
        console.print(f"ready: HTTP {cfg.http_url}, gRPC {cfg.grpc_url}, metrics {cfg.host}:{cfg.metrics_port} "
                      "(development server; Ctrl-C stops it)")
        server.wait()
    except MMTritonError as e:
        fail(e)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
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
          levels: Optional[str] = typer.Option(None, help="Concurrency levels, e.g. 1,4,8.")) -> None:
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
    plan = make_plan(full, name, preset=preset, url=url, http_url=http_url, out_dir=out, items=items, levels=lv)
    command = "make bench FULL=1" if full and not (name or url or items or levels) else \
        ("make bench" if not (full or name or url or items or levels) else "mmtriton bench " + " ".join(sys.argv[2:]))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        ensure_artifacts(art, preset)
        with Progress(*columns, console=console) as progress:
            res = run_bench(plan, art, Tracker(progress))
        path = write_report(res, command)
    except MMTritonError as e:
        fail(e)
    from mmtriton.bench.goals import evaluate

    for g in evaluate(res):
        console.print(f"{'met' if g.met else 'MISSED' if g.met is False else 'n/a':>6}  {g.name}: {g.measured}")
    console.print(f"report: {path}")


if __name__ == "__main__":
    app()
