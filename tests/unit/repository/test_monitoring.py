"""The chart's Prometheus rules (deploy/helm/mmtriton/files/rules.yaml): generated from the spec,
checked and unit-tested with Debian's promtool on synthetic Triton counters."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mmtriton.repository.monitoring import POOL_RECORD, RECORD, composing_models, rules_yaml
from mmtriton.spec import get_graph
from mmtriton.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "deploy" / "helm" / "mmtriton" / "files" / "rules.yaml"
TARGET = yaml.safe_load((ROOT / "deploy" / "helm" / "mmtriton" / "values.yaml").read_text())["autoscaling"]["target"]


def promtool() -> str:
    path = shutil.which("promtool")
    if not path:
        pytest.fail("promtool is missing: run `make setup` (Debian package prometheus)")
    return path


def test_the_committed_rule_file_is_what_the_generator_writes(graph):
    assert RULES.read_text() == rules_yaml(graph), "regenerate with `mmtriton monitoring-rules`"


def test_the_rules_cover_the_composing_models_and_no_ensemble():
    for preset in PRESETS:
        g = get_graph(preset)
        names = composing_models(g)
        assert set(names) == {m.name for m in g.models}
        assert not {e.name for e in g.ensembles} & set(names)
        assert names == composing_models(get_graph("demo")), "one rule file serves every preset"


def test_promtool_check_rules():
    proc = subprocess.run([promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "SUCCESS: 2 rules found" in proc.stdout, proc.stdout + proc.stderr


def series(metric: str, model: str, pod: str, per_step_us: int) -> dict:
    labels = f'model="{model}",namespace="inference",pod="{pod}",pool="h100",version="1"'
    return {"series": f"{metric}{{{labels}}}", "values": f"0+{per_step_us}x40"}


def sample(record: str, value: float, **labels: str) -> dict:
    text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"labels": f"{record}{{{text}}}", "value": value}


def unit_test(graph, expect_busy: float) -> dict:
    """Three pods, 15 s steps. idle: nothing queues or computes, though its ensemble reports a large
    queue (ensembles are not counted). busy: each composing model queues 3 s per 1 s of compute
    per step, so its ratio is 3. calm: 0.75 s queued per 1 s computed, ratio 0.75 (values exact in binary: promtool compares exactly)."""
    models = composing_models(graph)
    inputs = [series("nv_inference_queue_duration_us", graph.ensemble.name, "idle", 9_000_000),
              series("nv_inference_compute_infer_duration_us", graph.ensemble.name, "idle", 1_000_000)]
    for m in models:
        inputs += [series("nv_inference_queue_duration_us", m, "idle", 0),
                   series("nv_inference_compute_infer_duration_us", m, "idle", 0),
                   series("nv_inference_queue_duration_us", m, "busy", 3_000_000),
                   series("nv_inference_compute_infer_duration_us", m, "busy", 1_000_000),
                   series("nv_inference_queue_duration_us", m, "calm", 750_000),
                   series("nv_inference_compute_infer_duration_us", m, "calm", 1_000_000)]
    pod = dict(namespace="inference", pool="h100")
    return {"rule_files": [str(RULES)], "evaluation_interval": "15s", "tests": [{
        "interval": "15s", "input_series": inputs,
        "promql_expr_test": [
            {"expr": RECORD, "eval_time": "5m", "exp_samples": [
                sample(RECORD, 0, pod="idle", **pod), sample(RECORD, expect_busy, pod="busy", **pod),
                sample(RECORD, 0.75, pod="calm", **pod)]},
            {"expr": f"{POOL_RECORD} > {TARGET}", "eval_time": "5m",
             "exp_samples": [sample(POOL_RECORD, (0 + expect_busy + 0.75) / 3, **pod)]},
        ]}]}


def run_unit_test(tmp_path, spec: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "rules_test.yaml"
    path.write_text(yaml.safe_dump(spec))
    return subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True, text=True, timeout=60)


def test_promtool_unit_test_idle_is_zero_and_overload_is_above_target(graph, tmp_path):
    proc = run_unit_test(tmp_path, unit_test(graph, 3))
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, proc.stdout + proc.stderr
    assert 3 > TARGET and (3 + 0.75) / 3 > TARGET, "the busy pod and the pool are above the autoscaling target"


def test_promtool_unit_test_fails_on_a_wrong_expectation(graph, tmp_path):
    """The test above can fail: the same series with a wrong expected ratio is reported."""
    proc = run_unit_test(tmp_path, unit_test(graph, 2))
    assert proc.returncode != 0 and "FAILED" in proc.stdout + proc.stderr
