"""The ``mmtriton bench`` and ``mmtriton soak`` commands: entry points of group
``mmtriton.commands`` (benchmarks/pyproject.toml) that ``mmtriton.cli`` adds when this part is
installed. They turn options into a plan, run it after `make demo` built the model, print verdicts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from mmtriton.console import console, fail
from mmtriton.errors import MMTritonError
from mmtriton.paths import Artifacts

PresetOpt = typer.Option("demo", help="Size preset from the spec: demo (CPU) or production (GPU shapes).")
DatasetOpt = typer.Option(None, "--dataset", envvar="MMTRITON_DATASET", file_okay=False,
                          help="Your data set (the model must be trained on it): its held-out rows are the workload.")


def _command_line(ctx: typer.Context) -> str:
    """The options given on this invocation (not sys.argv, which is pytest's under CliRunner); the
    make target when there are none."""
    given = [(k, v) for k, v in ctx.params.items() if ctx.get_parameter_source(k).name != "DEFAULT"]
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in given]
    return f"mmtriton {ctx.info_name} " + " ".join(flags) if flags else f"make {ctx.info_name}"


def bench(preset: str = PresetOpt,
          full: bool = typer.Option(False, "--full", help="Every model, c=1..32, tuning sweep (about 40 min on 2 cores)."),
          name: Optional[str] = typer.Option(None, help="Report name: <out>/<name>.md (default quick/full)."),
          url: Optional[str] = typer.Option(None, help="Measure a running server (gRPC host:port) instead of starting one."),
          http_url: Optional[str] = typer.Option(None, help="Its HTTP host:port (required with --url)."),
          out: Optional[Path] = typer.Option(None, help="Where reports go (default <artifacts>/reports; "
                                             "--out benchmarks/results publishes one)."),
          items: Optional[int] = typer.Option(None, help="Held-out items in the workload."),
          levels: Optional[str] = typer.Option(None, help="Concurrency levels, e.g. 1,4,8."),
          protocols: Optional[str] = typer.Option(None, help="perf_analyzer protocols, e.g. grpc,http or http."),
          triton_only: bool = typer.Option(False, "--triton-only", help="Only sweep the server at --url (no baselines)."),
          dataset: Optional[Path] = DatasetOpt) -> None:
    """perf_analyzer sweeps with real held-out inputs against the in-process floor, a FastAPI +
    PyTorch eager service and Triton without dynamic batching; writes markdown, CSV and plots."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mmtriton_bench.goals import evaluate
    from mmtriton_bench.plan import make_plan
    from mmtriton_bench.report import write_report
    from mmtriton_bench.run import run_bench
    from mmtriton_bench.tracker import Tracker
    from mmtriton.workflows import require_built, require_trained_on

    if url and not http_url:
        raise typer.BadParameter("--http-url is required with --url (HTTP runs and server-side statistics)")
    art = Artifacts.default()
    out = out or art.root / "reports"
    lv = tuple(int(x) for x in levels.split(",")) if levels else None
    protos = tuple(protocols.split(",")) if protocols else None
    plan = make_plan(full, name, preset=preset, url=url, http_url=http_url, out_dir=out, items=items, levels=lv,
                     protocols=protos, triton_only=triton_only or None)
    custom = name or url or items or levels or protocols or triton_only
    command = "make bench FULL=1" if full and not custom else \
        ("make bench" if not (full or custom) else "mmtriton bench " + " ".join(sys.argv[2:]))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        require_trained_on(art, preset, dataset)
        require_built(art, preset, need_checkpoint=not triton_only)
        with Progress(*columns, console=console) as progress:
            res = run_bench(plan, art, Tracker(progress))
        path = write_report(res, command)
    except MMTritonError as e:
        fail(e)
    for g in evaluate(res):
        console.print(f"{'met' if g.met else 'MISSED' if g.met is False else 'n/a':>6}  {g.name}: {g.measured}")
    console.print(f"report: {path}")


def soak(preset: str = PresetOpt, minutes: float = typer.Option(10.0, help="How long to drive the ensemble."),
         concurrency: int = typer.Option(16, help="Closed-loop concurrency (the saturation point on 2 cores)."),
         warmup: float = typer.Option(60.0, help="Seconds before RSS growth is counted."),
         out: Optional[Path] = typer.Option(None, help="Report folder (default <artifacts>/reports/soak; "
                                            "--out benchmarks/results/soak publishes one)."),
         dataset: Optional[Path] = DatasetOpt) -> None:
    """Drive the ensemble at saturation with perf_analyzer while sampling RSS per process, /dev/shm
    and Triton's metrics; writes a report with plots and exits 1 if a check fails."""
    from mmtriton_bench.soak import SoakConfig, run_soak
    from mmtriton_bench.soak_report import write_report
    from mmtriton.workflows import require_built, require_trained_on, trained_graph

    art = Artifacts.default()
    out = out or art.root / "reports" / "soak"
    cfg = SoakConfig(seconds=minutes * 60, warmup_s=min(warmup, minutes * 20), concurrency=concurrency)
    try:
        require_trained_on(art, preset, dataset)
        require_built(art, preset, need_checkpoint=False)
        res = run_soak(trained_graph(art, preset), art.onnx(preset), art.manifest("test"), art.root / "soak", cfg,
                       on_window=lambda r: console.print(f"  {len(r.windows)} windows, "
                                                         f"last {r.windows[-1]['throughput'] if r.windows else 0:.1f}/s"))
    except MMTritonError as e:
        fail(e)
    path = write_report(res, out, "mmtriton soak " + " ".join(sys.argv[2:]) if len(sys.argv) > 2 else "make soak")
    for check, ok in res.verdict().items():
        console.print(f"{'pass' if ok else 'FAIL':>5}  {check}")
    console.print(f"report: {path}")
    if not all(res.verdict().values()):
        raise typer.Exit(1)


def capacity(ctx: typer.Context,
             slo_ms: float = typer.Option(100.0, help="Latency SLO: p99 in ms."),
             peak_rps: float = typer.Option(400.0, help="Peak arrivals/s (placeholder: put your own)."),
             target_utilisation: float = typer.Option(0.7, help="Highest utilisation a replica may run at, at the peak."),
             startup_s: float = typer.Option(180.0, help="Seconds before a new pod serves (placeholder: GPU model load)."),
             throughput: Optional[float] = typer.Option(None, help="Per-replica req/s at the SLO measured on a GPU "
                                                        "(default: the CPU figure from --perf)."),
             perf: Path = typer.Option(Path("benchmarks/results/full/perf.csv"), help="perf_analyzer results (make bench FULL=1)."),
             values: Path = typer.Option(Path("deploy/helm/mmtriton/values.yaml"), help="Chart values with `autoscaling`."),
             out: Path = typer.Option(Path("benchmarks/results"), help="Report folder: <out>/capacity.md, <out>/capacity/.")) -> None:
    """Replicas for a peak rate (utilisation + Erlang C wait check), then a deterministic day against
    the Kubernetes HPA on the chart's queue-to-compute metric; writes capacity.md and a plot."""
    from mmtriton_bench.capacity import replica_throughput, size
    from mmtriton_bench.capacity_report import CapacityRun, write_report
    from mmtriton_bench.capacity_sim import Autoscaling, simulate

    try:
        measured = replica_throughput(perf, slo_ms)
        mu, budget = measured.rps if throughput is None else throughput, slo_ms - measured.p99_ms
        sizing, hpa = size(peak_rps, mu, target_utilisation, budget), Autoscaling.from_values(values)
        days = tuple((s, simulate(hpa, mu, peak_rps, s)) for s in sorted({0.0, 60.0, startup_s, 600.0}))
        command = _command_line(ctx)
        run = CapacityRun(command, slo_ms, peak_rps, target_utilisation, startup_s, measured, throughput, budget,
                          sizing, hpa, values, dict(days)[startup_s], days)
        path = write_report(run, out)
    except MMTritonError as e:
        fail(e)
    d = run.day
    console.print(f"per replica: {mu:g} req/s at p99 <= {slo_ms:g} ms "
                  f"({'--throughput' if throughput else f'measured, {perf}, 2-core CPU'})")
    console.print(f"sizing: {sizing.replicas} replicas for {peak_rps:g} req/s (utilisation <= {target_utilisation:g}, "
                  f"P(wait > {budget:.1f} ms) <= 1 %)")
    console.print(f"day: served {d.offered - d.rejected:,.0f}, rejected {d.rejected:,.0f} "
                  f"({100 * d.rejected / d.offered:.3f} %), replica-hours {d.replica_hours:.1f} autoscaled vs "
                  f"{sizing.replicas * 24:.0f} static, max replicas {max(d.replicas)}")
    console.print(f"report: {path}")


def buckets(ctx: typer.Context, preset: str = PresetOpt,
            requests: int = typer.Option(256, help="Held-out items per run."),
            concurrency: int = typer.Option(32, help="Requests in flight."),
            out: Path = typer.Option(Path("benchmarks/results"), help="Report folder: <out>/buckets.md.")) -> None:
    """Length buckets on the embedded server: the audio and text encoders' executions against their
    inferences, with the server padding to buckets and with client tensors at their own lengths."""
    import tempfile

    from mmtriton.workflows import require_built, trained_graph
    from mmtriton_bench.buckets import measure, table, write_report

    art = Artifacts.default()
    try:
        require_built(art, preset, need_checkpoint=False)
        with tempfile.TemporaryDirectory(prefix="mmtriton-buckets-") as work:
            result = measure(art, trained_graph(art, preset), Path(work), requests, concurrency)
        path = write_report(result, _command_line(ctx), out)
    except MMTritonError as e:
        fail(e)
    for line in table(result["runs"]):
        console.print(line)
    console.print(f"report: {path}")
