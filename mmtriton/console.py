"""What the ``mmtriton`` command shows: rich tables for the spec, parity and training metrics,
and rich progress bars behind the workflow layer's ``Progress`` protocol."""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mmtriton.workflows import Task

console = Console()


@contextlib.contextmanager
def progress_bars() -> Iterator:
    """A ``workflows.Progress`` drawing one rich bar per task while the block runs."""
    with Progress(console=console) as bars:
        def start(description: str, total: int) -> Task:
            task = bars.add_task(description, total=total)

            def advance(n: int = 1, description: Optional[str] = None) -> None:
                bars.update(task, advance=n, **({"description": description} if description else {}))
            return advance
        yield start


def model_json(m) -> dict:
    def tensors(ts) -> list[dict]:
        return [{"name": t.name, "dtype": t.dtype.name, "dims": list(t.config_dims)} for t in ts]

    return {"name": m.name, "max_batch_size": m.max_batch_size, "inputs": tensors(m.inputs), "outputs": tensors(m.outputs)}


def print_spec(graph) -> None:
    table = Table("model", "direction", "tensor", "dtype", "dims", "max batch")
    for m in graph.models:
        for direction, tensors in (("in", m.inputs), ("out", m.outputs)):
            for t in tensors:
                table.add_row(m.name, direction, t.name, t.dtype.name, str(list(t.config_dims)), str(m.max_batch_size))
    console.print(table)


def print_parity(summary: dict) -> None:
    table = Table("model", "case", "shapes", "max |diff|", "ok")
    for c in summary["cases"]:
        shapes = ", ".join(f"{k}{v}" for k, v in c["shapes"].items())
        table.add_row(c["model"], c["case"], shapes, f"{c['max_abs_diff']:.1e}", "yes" if c["passed"] else "NO")
    console.print(table)


def print_metrics(metrics: dict) -> None:
    test = metrics["test"]
    table = Table("held-out test (unseen voices, fonts, phrasings)", "accuracy", "present-only accuracy",
                  title=f"preset {metrics['preset']}: {metrics['samples']['test']} test samples")
    table.add_row("fused (all modalities)", f"{test['fused']:.4f}", "")
    for name, acc in test["single_modality"].items():
        table.add_row(f"{name} only", f"{acc:.4f}", f"{test['present_only'][name]:.4f}")
    if "text_informative" in test:
        table.add_row("text only, captions naming the class", "", f"{test['text_informative']:.4f}")
    console.print(table)
    console.print(f"fused - best single modality = {test['fused_minus_best_single'] * 100:.1f} points; "
                  f"training took {metrics['seconds']['total']:.0f} s ({metrics['epochs_run']} epochs)")


def print_engine(r) -> None:
    """One engine of a build: built (with why) or reused."""
    console.print(f"  {r.model}: {r.status}" + (f" in {r.seconds:.0f} s ({'; '.join(r.reasons)})" if r.reasons else ""))


def fail(error: Exception) -> None:
    """The one place an error of ours becomes a message and exit status 2 (every command)."""
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(str(error))}")
    raise typer.Exit(2)
