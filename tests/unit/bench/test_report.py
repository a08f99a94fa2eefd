"""The report writer: markdown with every section, CSVs and PNG plots from one Results object."""

from __future__ import annotations

import csv
import dataclasses

from mmtriton_bench.paired import Round
from mmtriton_bench.tuning import Trial
from test_goals import results


def test_report_has_goals_tables_csvs_and_plots(tmp_path):
    from mmtriton_bench.report import write_report

    res = results()
    res.plan = dataclasses.replace(res.plan, name="unit", out_dir=tmp_path)
    res.perf[1].composing = {"text_encoder": {"avg_batch": 2.0, "latency_ms": 9.0, "queue_ms": 1.0,
                                              "compute_input_ms": 0.1, "compute_infer_ms": 7.5, "compute_output_ms": 0.4}}
    res.rounds = [Round(1, 10.0, 11.0, 100.0, 80.0, 8, 90.0, 100.0, 30.0, 200.0)]
    res.trials = [Trial("encoder batching", "without dynamic batching", 95.0, 80.0, 160.0, True)]
    path = write_report(res, "make bench")
    text = path.read_text()
    assert path == tmp_path / "unit.md"
    for heading in ("## Goals", "## Triton ensemble", "## Per-model server-side breakdown", "## Baselines",
                    "## Preprocessing per core", "## Tuning sweep", "## Machine and versions", "## Paired rounds"):
        assert heading in text, heading
    assert "`make bench`" in text and "0.80x" in text and "text_encoder" in text
    folder = tmp_path / "unit"
    rows = list(csv.DictReader((folder / "perf.csv").open()))
    assert len(rows) == len(res.perf) + len(res.perf_flip)
    assert {r["variant"] for r in rows} == {"tuned", "dynamic-batching-off"}
    for png in ("throughput_vs_p99.png", "breakdown.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"unit/{png}" in text


def test_a_tuned_run_proposes_its_policy_beside_the_report_and_leaves_the_spec_alone(tmp_path, graph):
    from mmtriton_bench.identity import Identity
    from mmtriton_bench.report import write_report
    from mmtriton.spec.serving import PACKAGED_DEFAULTS, load_serving_defaults

    before = PACKAGED_DEFAULTS.read_bytes()
    res = results()
    res.plan = dataclasses.replace(res.plan, name="tuned", out_dir=tmp_path)
    res.trials = [Trial("encoder batching", "without dynamic batching", 95.0, 80.0, 160.0, True)]
    res.policy = {m.name: dataclasses.replace(m.batching, instances=3) for m in graph.models}
    res.identity = Identity("triton 9.99.0", "NVIDIA Test GPU (compute 9.0)", gpu=True)
    text = write_report(res, "make bench FULL=1").read_text()
    assert load_serving_defaults(tmp_path / "tuned" / "policy.json") == res.policy
    assert PACKAGED_DEFAULTS.read_bytes() == before, "the benchmark never writes the spec"
    assert "apply-policy" in text
    assert text.startswith("# Benchmark `tuned` — GPU figures"), "the header comes from the measured device"
    assert "| server | triton 9.99.0 |" in text and "| device | NVIDIA Test GPU (compute 9.0) |" in text
    assert "2-core" not in text and "CPU" not in text.split("## Machine")[0], "no CPU label on a GPU run"
