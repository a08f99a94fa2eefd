"""Write a benchmark run to ``<out>/<name>.md`` with CSVs and PNG plots in ``<out>/<name>/``."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path
from typing import Any, Sequence

from mmtriton_bench.goals import Goal, batching_gain, evaluate
from mmtriton_bench.identity import cpu_model
from mmtriton_bench.markdown import table

PACKAGES = ("tritonclient", "nvidia-pytriton", "onnxruntime", "torch", "numpy", "pillow", "soxr", "librosa",
            "tokenizers", "fastapi", "uvicorn")


def machine(identity: Any = None) -> dict[str, str]:
    """The machine the report was made on; the server and device as ``identity`` read them."""
    mem = next((int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0) if Path("/proc/meminfo").exists() else 0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu_model(), "cores": str(os.cpu_count()), "memory": f"{mem / 2**20:.0f} GiB", "os": platform.platform(),
            "python": platform.python_version(), "server": identity.server if identity else "not measured",
            "device": identity.device if identity else "-",
            "commit": commit or "?", "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def versions() -> dict[str, str]:
    out = {}
    for p in PACKAGES:
        try:
            out[p] = md.version(p)
        except md.PackageNotFoundError:
            out[p] = "-"
    return out


def write_csv(path: Path, rows: Sequence[dict]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def composing_rows(points: Sequence[Any]) -> list[dict]:
    return [{"model": p.model, "protocol": p.protocol, "concurrency": p.concurrency, "composing_model": name, **v}
            for p in points for name, v in sorted(p.composing.items())]


def write_csvs(res: Any, folder: Path) -> None:
    flipped = "dynamic-batching-on" if res.flip_batches else "dynamic-batching-off"
    write_csv(folder / "perf.csv", [p.row() | {"variant": "tuned"} for p in res.perf]
              + [p.row() | {"variant": flipped} for p in res.perf_flip])
    write_csv(folder / "composing.csv", composing_rows(res.perf))
    write_csv(folder / "loadgen.csv", [r.row() for r in res.loadgen])
    floors = res.floor + ([res.floor_multi] if res.floor_multi else [])
    write_csv(folder / "floor.csv", [dataclasses.asdict(f) for f in floors])
    write_csv(folder / "tuning.csv", [dataclasses.asdict(t) for t in res.trials])
    write_csv(folder / "preprocessing.csv", [{"task": k, "path": p, "per_second": v}
                                             for k, d in res.preproc.items() for p, v in d.items()])


def write_policy(res: Any, path: Path, command: str) -> None:
    """The tuned policy as a proposal in the spec's own format; `mmtriton apply-policy` applies it."""
    from mmtriton.spec.serving import save_serving_defaults

    if res.trials:
        save_serving_defaults(res.policy, f"`{command}` ({res.plan.name}.md, tuning section)", path)


def goals_section(goals: Sequence[Goal]) -> str:
    mark = {True: "met", False: "missed", None: "not measured"}
    return table(("goal", "target", "measured", "result"), [(g.name, g.target, g.measured, mark[g.met]) for g in goals])


def render(res: Any, command: str, plots: dict[str, str]) -> str:
    from mmtriton_bench import report_sections as s

    plan = res.plan
    ident = res.identity
    scope = "GPU figures" if ident and ident.gpu else f"CPU figures ({os.cpu_count()} cores), not a GPU result"
    parts = [f"# Benchmark `{plan.name}` — {scope}",
             s.intro(plan, command, bool(ident and ident.gpu)),
             "## Machine and versions\n\n" + table(("", ""), list(machine(ident).items()) + list(versions().items())),
             "## Workload\n\n" + s.workload(res),
             "## Goals (measured side by side in this run)\n\n" + goals_section(evaluate(res)), s.rounds_section(res),
             s.triton_section(res, plots), s.breakdown_section(res, plots), s.models_section(res),
             s.baselines_section(res, batching_gain(res)), s.preproc_section(res), s.tuning_section(res),
             s.notes_section(res)]
    return "\n\n".join(p for p in parts if p) + "\n"


def write_report(res: Any, command: str) -> Path:
    from mmtriton_bench.plots import breakdown_plot, throughput_latency_plot

    out = res.plan.out_dir
    folder = out / res.plan.name
    folder.mkdir(parents=True, exist_ok=True)
    write_csvs(res, folder)
    write_policy(res, folder / "policy.json", command)
    plots = {"throughput": throughput_latency_plot(res, folder / "throughput_vs_p99.png"),
             "breakdown": breakdown_plot(res, folder / "breakdown.png")}
    plots = {k: str(Path(res.plan.name) / Path(v).name) for k, v in plots.items() if v}
    path = out / f"{res.plan.name}.md"
    path.write_text(render(res, command, plots))
    return path
