"""The capacity model: Erlang C against values worked by hand from the textbook formula, the
sizing's two constraints, the Kubernetes HPA rules one at a time, and the simulated day."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmtriton_bench import capacity_sim as sim
from mmtriton_bench.capacity import erlang_b, erlang_c, mean_wait_s, p_wait_over, replica_throughput, size
from mmtriton_bench.capacity_sim import Autoscaling
from mmtriton.cli import app
from mmtriton.errors import BenchError

ROOT = Path(__file__).resolve().parents[3]
HPA = Autoscaling(min_replicas=1, max_replicas=8, target=0.5, up_window_s=0, down_window_s=300)


def _textbook_erlang_c(a: float, c: int) -> float:
    """C = (A^c / c!) (c / (c - A)) / (sum_{k<c} A^k / k! + (A^c / c!) (c / (c - A))), in logs."""
    terms = [k * math.log(a) - math.lgamma(k + 1) for k in range(c)]
    last = c * math.log(a) - math.lgamma(c + 1) + math.log(c / (c - a))
    top = max(terms + [last])
    return math.exp(last - top) / (sum(math.exp(t - top) for t in terms) + math.exp(last - top))


def test_erlang_values_worked_by_hand():
    # A=2, c=3: sum_{k<3} 2^k/k! = 1 + 2 + 2 = 5; (8/6)(3/1) = 4; C = 4/9. B = (8/6)/(5 + 8/6) = 4/19.
    assert erlang_c(2.0, 3) == pytest.approx(4 / 9, rel=1e-12)
    assert erlang_b(2.0, 3) == pytest.approx(4 / 19, rel=1e-12)
    # A=1, c=2: 1 + 1 = 2; (1/2)(2/1) = 1; C = 1/3.   A=1, c=1 (M/M/1): C = rho = 1.
    assert erlang_c(1.0, 2) == pytest.approx(1 / 3, rel=1e-12)
    assert erlang_c(0.5, 1) == pytest.approx(0.5, rel=1e-12)
    # Wq = C / (c mu - lambda): lambda 2/s, mu 1/s, c 3 -> 4/9 s; P(W > 1 s) = 4/9 e^-1.
    assert mean_wait_s(2.0, 1.0, 3) == pytest.approx(4 / 9)
    assert p_wait_over(2.0, 1.0, 3, 1.0) == pytest.approx(4 / 9 * math.exp(-1))
    assert erlang_c(3.0, 3) == 1.0 and mean_wait_s(3.0, 1.0, 3) == math.inf


def test_erlang_c_is_stable_where_factorials_overflow():
    for a, c in ((45.0, 50), (850.0, 900), (1900.0, 2000)):
        assert erlang_c(a, c) == pytest.approx(_textbook_erlang_c(a, c), rel=1e-9)
    with pytest.raises(OverflowError):
        float(math.factorial(2000))  # the naive formula cannot even be evaluated here


def test_sizing_by_utilisation_picks_the_smallest_count():
    s = size(450.0, 100.0, 0.7, budget_ms=50.0)  # 450 / (0.7 x 100) = 6.43 -> 7
    assert s.replicas == 7
    by_c = {r.replicas: r for r in s.rows}
    assert by_c[7].ok and by_c[7].utilisation <= 0.7
    assert not by_c[6].ok and by_c[6].utilisation > 0.7


def test_sizing_by_waiting_time_when_utilisation_allows_fewer():
    # At 0.95 utilisation 5 replicas would do (400 / 500 = 0.8), but the wait tail does not.
    s = size(400.0, 100.0, 0.95, budget_ms=20.0)
    by_c = {r.replicas: r for r in s.rows}
    assert s.replicas > 5 and by_c[5].utilisation <= 0.95
    assert not by_c[s.replicas - 1].ok and by_c[s.replicas - 1].p_over_budget > 0.01
    assert by_c[s.replicas].p_over_budget <= 0.01
    assert by_c[s.replicas].p_over_budget == pytest.approx(
        erlang_c(4.0, s.replicas) * math.exp(-(s.replicas * 100 - 400) * 0.020))


def test_replica_throughput_is_the_best_tuned_row_within_the_slo(tmp_path):
    head = "model,protocol,concurrency,shared_memory,throughput,p50_ms,p90_ms,p99_ms,variant\n"
    rows = ["multimodal,grpc,1,none,60,1,1,30,tuned", "multimodal,grpc,4,none,90,1,1,95,tuned",
            "multimodal,grpc,8,none,95,1,1,120,tuned", "multimodal,grpc,4,none,200,1,1,50,dynamic-batching-on",
            "multimodal,http,4,none,300,1,1,50,tuned", "multimodal,grpc,4,system,300,1,1,50,tuned"]
    (tmp_path / "perf.csv").write_text(head + "\n".join(rows) + "\n")
    m = replica_throughput(tmp_path / "perf.csv", 100.0)
    assert (m.rps, m.p99_ms, m.concurrency, m.variant) == (90.0, 95.0, 4, "tuned")
    with pytest.raises(BenchError):
        replica_throughput(tmp_path / "perf.csv", 10.0)


def test_hpa_tolerance_band_and_ceil():
    assert sim.recommend(4, 0, 0.54, HPA) == 4   # 1.08 x target: inside the band
    assert sim.recommend(4, 0, 0.46, HPA) == 4   # 0.92 x target
    assert sim.recommend(4, 0, 0.6, HPA) == 5    # ceil(4 x 1.2 = 4.8)
    assert sim.recommend(4, 0, 0.3, HPA) == 3    # ceil(4 x 0.6 = 2.4)
    assert sim.recommend(3, 0, 1.0, HPA) == 6    # exactly 3 x 2


def test_hpa_counts_starting_pods_as_idle_on_the_way_up():
    # 2 ready pods at ratio 1.0 (usage 2), 2 starting: desired = ceil(2 x 1.0 / 0.5) = 4 = current.
    assert sim.recommend(2, 2, 1.0, HPA) == 4
    assert sim.recommend(2, 1, 1.5, HPA) == 6    # ceil(2 x 1.5 / 0.5)
    assert sim.recommend(2, 6, 0.6, HPA) == 8    # 2 x 0.6 / (8 x 0.5) < 1: flips, hold
    # On the way down starting pods count as on target: (4 x 0.1 + 2 x 0.5) / (6 x 0.5) x 6 = 2.8 -> 3.
    assert sim.recommend(4, 2, 0.1, HPA) == 3


def test_scale_down_is_held_by_the_stabilisation_window():
    history = [(0.0, 6), (100.0, 3), (200.0, 2)]
    assert sim.stabilise(history, 200.0, 6, HPA) == 6          # 6 is still inside 300 s
    assert sim.stabilise(history + [(350.0, 2)], 350.0, 6, HPA) == 3  # t=0 has left, t=100 has not
    assert sim.stabilise([(0.0, 2), (15.0, 7)], 15.0, 2, HPA) == 7     # scale-up window 0: at once
    slow_up = dataclasses.replace(HPA, up_window_s=60)
    assert sim.stabilise([(0.0, 2), (15.0, 7)], 15.0, 2, slow_up) == 2


def test_rate_limits_count_from_the_start_of_the_period_then_min_max():
    assert sim.limit(50, 2, [], 0.0, HPA) == 4                 # +2 pods per 60 s
    assert sim.limit(50, 4, [(0.0, 2)], 45.0, HPA) == 4        # those 2 were this period's
    assert sim.limit(50, 4, [(0.0, 2)], 60.0, HPA) == 6        # period over
    assert sim.limit(50, 7, [], 0.0, HPA) == 8                 # maxReplicas
    assert sim.limit(1, 5, [], 0.0, HPA) == 4                  # -1 pod per 120 s
    assert sim.limit(1, 4, [(0.0, -1)], 105.0, HPA) == 4
    assert sim.limit(1, 4, [(0.0, -1)], 120.0, HPA) == 3
    assert sim.limit(0, 5, [], 0.0, dataclasses.replace(HPA, down_pods=10)) == 1  # minReplicas
    assert sim.limit(3, 3, [], 0.0, HPA) == 3


def test_controller_remembers_its_scale_events():
    controller, n, seen = sim.Controller(HPA), 2, []
    for t in range(0, 150, 15):  # 2 pods saturated throughout, the new ones never ready
        n = controller.sync(float(t), 2, n - 2, sim.RATIO_CAP)
        seen.append(n)
    assert seen == [4, 4, 4, 4, 6, 6, 6, 6, 8, 8]


def test_chart_template_sets_the_rate_limits_modelled():
    text = (ROOT / "deploy/helm/mmtriton/templates/hpa.yaml").read_text()
    up, down = (re.search(rf"{side}:.*?type: Pods, value: (\d+), periodSeconds: (\d+)", text, re.S).groups()
                for side in ("scaleUp", "scaleDown"))
    assert (int(up[0]), float(up[1])) == (HPA.up_pods, HPA.up_period_s)
    assert (int(down[0]), float(down[1])) == (HPA.down_pods, HPA.down_period_s)


def test_new_pods_serve_only_after_the_start_up_time():
    mu = 100.0
    for startup in (0.0, 300.0):
        day = sim.simulate(HPA, mu, 400.0, startup)
        burst = next(i for i, (a, b) in enumerate(zip(day.arrival_rps, day.arrival_rps[1:])) if b > 2 * a) + 1
        grown = next(i for i in range(burst, len(day.t_s)) if day.replicas[i] > day.replicas[burst])
        served = next(i for i in range(grown, len(day.t_s)) if day.capacity_rps[i] > day.capacity_rps[burst])
        assert grown == burst + 1  # the sync at the end of the burst's first period adds pods
        assert day.t_s[served] - day.t_s[burst] == pytest.approx(sim.SYNC_S + startup)


def test_scale_down_deletes_starting_pods_first():
    assert sim.resize([0.0, 900.0, 0.0, 600.0], 2, 1000.0) == [0.0, 0.0]
    assert sim.resize([0.0, 900.0, 0.0, 600.0], 3, 1000.0) == [0.0, 0.0, 600.0]
    assert sim.resize([0.0], 3, 195.0) == [0.0, 195.0, 195.0]


def test_the_day_is_deterministic_and_cheaper_than_static_peak():
    a, b = sim.simulate(HPA, 87.04, 400.0, 180.0), sim.simulate(HPA, 87.04, 400.0, 180.0)
    assert a == b
    assert len(a.t_s) == 24 * 3600 / sim.SYNC_S and max(a.arrival_rps) == pytest.approx(400.0)
    static = size(400.0, 87.04, 0.7, 20.0).replicas
    assert a.replica_hours < static * 24
    assert min(a.replicas) >= HPA.min_replicas and max(a.replicas) <= HPA.max_replicas


def test_start_up_time_decides_the_burst_rejections():
    slow = sim.simulate(HPA, 87.04, 400.0, 6 * 3600.0)
    fast = sim.simulate(dataclasses.replace(HPA, max_replicas=50), 87.04, 400.0, 0.0)
    burst = [i for i, t in enumerate(slow.t_s) if 6.5 * 3600 <= t < 6.5 * 3600 + 600]
    assert all(slow.rejected_rps[i] > 0 for i in burst)
    assert slow.rejected > 10 * fast.rejected > 0
    assert sum(fast.rejected_rps[i] > 0 for i in burst) == 1  # only the period before the first sync


def test_values_file_is_read(tmp_path):
    path = tmp_path / "values.yaml"
    path.write_text("autoscaling:\n  minReplicas: 2\n  maxReplicas: 5\n  target: 1.0\n"
                    "  scaleUpStabilizationSeconds: 30\n  scaleDownStabilizationSeconds: 120\n")
    assert Autoscaling.from_values(path) == Autoscaling(2, 5, 1.0, 30.0, 120.0)
    assert Autoscaling.from_values(path).target_utilisation() == pytest.approx(0.5)
    path.write_text("autoscaling:\n  minReplicas: 6\n  maxReplicas: 5\n  target: 1.0\n")
    with pytest.raises(BenchError):
        Autoscaling.from_values(path)


def test_command_writes_the_report_with_inputs_marked(tmp_path):
    (tmp_path / "perf.csv").write_text("model,protocol,concurrency,shared_memory,throughput,p50_ms,p90_ms,p99_ms,"
                                       "variant\nmultimodal,grpc,4,none,80,40,60,70,tuned\n")
    (tmp_path / "values.yaml").write_text("autoscaling: {minReplicas: 1, maxReplicas: 6, target: 0.5}\n")
    args = ["capacity", "--perf", str(tmp_path / "perf.csv"), "--values", str(tmp_path / "values.yaml"),
            "--out", str(tmp_path), "--peak-rps", "300", "--throughput", "120"]
    result = CliRunner().invoke(app, args, terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "sizing: 4 replicas for 300 req/s" in result.output  # 300 / (0.7 x 120) = 3.6
    md = (tmp_path / "capacity.md").read_text()
    assert "GPU throughput from `--throughput`" in md and "| peak arrival rate | 300 req/s | placeholder |" in md
    produced = next(line for line in md.splitlines() if line.startswith("Produced by `mmtriton capacity --"))
    assert "--peak-rps 300.0" in produced and "--throughput 120.0" in produced and "--slo-ms" not in produced
    assert "**4 replicas**" in md and "(capacity/day.png)" in md
    assert (tmp_path / "capacity" / "day.png").stat().st_size > 10_000
