"""The Prometheus rules of the Kubernetes chart, generated from the spec like the configs.

The autoscaling signal is Triton's own: how long requests wait in the composing models' queues
per unit of time they compute, ``rate(queue_us) / rate(compute_infer_us)`` summed over the
composing models of one pod. 0 when nothing waits; 1 when requests wait as long as they compute;
it climbs steeply once a replica saturates. Ensembles are left out: their queue and compute
figures are the composing models' again. Not GPU utilisation: a GPU at 100 % with empty queues
needs no replica, and a Python-backend or batching bottleneck queues at low utilisation.
"""

from __future__ import annotations

from mmtriton.spec.graph import ModelGraph

RECORD = "mmtriton:queue_to_compute:ratio_rate1m"
POOL_RECORD = "mmtriton:queue_to_compute:pool_avg"
QUEUE = "nv_inference_queue_duration_us"
COMPUTE = "nv_inference_compute_infer_duration_us"
GROUP = "mmtriton.autoscaling"
BY = "namespace, pod, pool"
HEADER = ("# Generated from the spec by `mmtriton monitoring-rules`: do not edit by hand\n"
          "# (tests/unit/repository/test_monitoring.py fails when this file drifts).\n"
          "# The chart's PrometheusRule carries these groups; promtool and a real Prometheus test them.\n")


def composing_models(graph: ModelGraph) -> tuple[str, ...]:
    """Every model the ensembles run (not the ensembles themselves), sorted."""
    return tuple(sorted(m.name for m in graph.models))


def ratio_expr(graph: ModelGraph, window: str = "1m") -> str:
    models = "|".join(composing_models(graph))
    sel = f'{{model=~"{models}"}}'
    return (f"sum by ({BY}) (rate({QUEUE}{sel}[{window}]))\n"
            f"/ clamp_min(sum by ({BY}) (rate({COMPUTE}{sel}[{window}])), 1)")


def rules_yaml(graph: ModelGraph) -> str:
    """The rule file: per pod ratio, and its average per pool (what the autoscalers target)."""
    expr = "\n".join(f"          {line}" for line in ratio_expr(graph).splitlines())
    return (HEADER + "groups:\n"
            f"  - name: {GROUP}\n"
            "    rules:\n"
            f"      - record: {RECORD}\n"
            "        expr: |-\n"
            f"{expr}\n"
            f"      - record: {POOL_RECORD}\n"
            f"        expr: avg by (namespace, pool) ({RECORD})\n")
