"""Commands the Kubernetes chart runs inside its pods (deploy/helm/mmtriton): the engine cache
shared by a GPU product's build Job and its servers, the deep readiness probe, and the generator
of the chart's Prometheus rules. Registered on the ``mmtriton`` app by ``mmtriton.cli``."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

import typer

from mmtriton.console import console, fail
from mmtriton.errors import MMTritonError

engine_cache = typer.Typer(help="The engine cache of the Kubernetes chart: <release>/<gpu product>/<precision>/<build>/.",
                           no_args_is_help=True)
CacheOpt = typer.Option(Path("/cache"), help="The mounted engine cache volume.")
ReleaseOpt = typer.Option(..., help="NGC release of the images (fixes the TensorRT version).")
ProductOpt = typer.Option(..., help="GPU product: the node label nvidia.com/gpu.product.")
PrecisionOpt = typer.Option(..., help="fp32, fp16 or int8.")
RULES = Path("deploy/helm/mmtriton/files/rules.yaml")


@engine_cache.command("publish")
def publish_cmd(repository: Path = typer.Option(..., help="A repository written by `mmtriton deploy-build`."),
                cache: Path = CacheOpt, release: str = ReleaseOpt, product: str = ProductOpt,
                precision: str = PrecisionOpt) -> None:
    """Copy a built repository into the cache under its key and mark it current (atomic)."""
    from mmtriton.engine.cache import CacheKey, publish

    try:
        path = publish(repository, cache, CacheKey(release, product, precision))
    except MMTritonError as e:
        fail(e)
    console.print(f"engine-cache: published {path}")


@engine_cache.command("fetch")
def fetch_cmd(to: Path = typer.Option(..., help="Empty folder to copy the repository into."),
              cache: Path = CacheOpt, release: str = ReleaseOpt, product: str = ProductOpt,
              precision: str = PrecisionOpt,
              build: Optional[str] = typer.Option(None, help="Build to serve, <onnx hash>-<files hash> "
                                                  "(default: the current one).")) -> None:
    """Copy the cached repository of this release, product, precision and build."""
    from mmtriton.engine.cache import CacheKey, fetch

    try:
        src = fetch(cache, CacheKey(release, product, precision), to, build)
    except MMTritonError as e:
        fail(e)
    console.print(f"engine-cache: {src} -> {to}")


OVERLOAD = ("timed out", "maximum queue size", "Request timeout expired", "HTTP 429")
DEAD_STUB = ("is not healthy", "Stub process")


def _live(http_url: str, timeout: float) -> Optional[str]:
    try:
        with urllib.request.urlopen(f"http://{http_url}/v2/health/live", timeout=timeout):
            return None
    except (urllib.error.URLError, OSError) as e:
        return f"/v2/health/live: {e}"


def probe(http_url: str = typer.Option("127.0.0.1:8000", help="HTTP host:port of the server."),
          preset: str = typer.Option("demo", help="Spec preset the repository was built with."),
          mode: str = typer.Option("ready", help="ready: fails unless the ensemble answers (a busy server "
                                   "passes); live: fails only when the server is not live or a stub died."),
          timeout: float = typer.Option(10.0, help="Seconds the inference may take.")) -> None:
    """Deep health check: one real inference through the ensemble (exit 1 with the reason).
    Triton 2.x keeps /v2/health/ready at 200 after a Python stub died, and never restarts it:
    readiness takes such a pod out of the Service, liveness has it restarted. Overload (a
    timeout, a full queue) is neither: failing it would move the load onto the other pods."""
    from mmtriton.serving.supervisor import DeepProbe
    from mmtriton.spec import get_graph

    if mode not in ("ready", "live"):
        raise typer.BadParameter("--mode is ready or live")
    not_live = _live(http_url, timeout) if mode == "live" else None
    reason = not_live or DeepProbe(get_graph(preset), http_url, timeout)()
    dead = bool(reason) and any(k in reason for k in DEAD_STUB)
    if reason and not (not_live or dead):
        if mode == "live":
            reason = None  # only a dead stub or a dead server is a reason to restart the container
        elif any(k in reason for k in OVERLOAD):
            sys.stderr.write(f"probe: busy, counted as healthy ({reason[:200]})\n")
            reason = None
    if reason:
        sys.stderr.write(f"probe failed: {reason}\n")
        raise typer.Exit(1)


def monitoring_rules(out: Path = typer.Option(RULES, help="Where to write the Prometheus rule file."),
                     preset: str = typer.Option("demo", help="Spec preset (model names).")) -> None:
    """Write the chart's Prometheus recording rules (queue-to-compute ratio) from the spec."""
    from mmtriton.repository.monitoring import rules_yaml
    from mmtriton.spec import get_graph

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(rules_yaml(get_graph(preset)))
    console.print(f"rules written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(engine_cache, name="engine-cache")
    app.command("probe")(probe)
    app.command("monitoring-rules")(monitoring_rules)
