"""Goal arithmetic on hand-made results: ratios, thresholds, and 'not measured' when data is missing."""

from __future__ import annotations

from mmtriton_bench.floor import FloorResult
from mmtriton_bench.goals import batching_gain, evaluate
from mmtriton_bench.loadgen import LoadResult
from mmtriton_bench.paired import Round
from mmtriton_bench.perf import PerfPoint
from mmtriton_bench.plan import QUICK
from mmtriton_bench.run import Results
from mmtriton.data.payloads import describe


def point(c, thr, p50, model="multimodal", protocol="grpc"):
    return PerfPoint(model, protocol, c, "none", thr, p50, p50 * 1.5, p50 * 2, 0, 0, 0, 0)


def results():
    res = Results(QUICK, describe([]))
    res.perf = [point(1, 50.0, 12.0), point(8, 95.0, 80.0), point(8, 200.0, 5.0, protocol="http", model="other")]
    res.perf_flip, res.flip_batches = [point(8, 76.0, 90.0)], False  # the tuned policy batches
    res.floor = [FloorResult("in-process", 1, 1, 60.0, 10.5, 20.0), FloorResult("in-process", 8, 1, 55.0, 140.0, 150.0)]
    res.floor_multi = FloorResult("in-process", 1, 2, 100.0, 0.0, 0.0)
    res.loadgen = [LoadResult("triton-sdk-grpc", 8, 100, 0, 90.0, 80.0, 100.0, 120.0),
                   LoadResult("fastapi-eager", 8, 100, 0, 30.0, 200.0, 250.0, 300.0)]
    res.preproc = {"image_640x480_jpeg_per_s": {"ours": 500.0, "pillow_plain": 200.0},
                   "audio_3s_44k_wav_per_s": {"ours": 250.0, "librosa_default": 150.0},
                   "text_captions_per_s": {"ours_batched_256": 12_000.0, "ours_one_at_a_time": 9_000.0}}
    return res


def test_goals_use_the_right_measurements():
    floor = next(g for g in evaluate(results()) if "floor" in g.name)
    assert floor.measured.startswith("0.95x") and floor.met is True  # best ensemble grpc point 95/s vs 100/s
    fastapi = next(g for g in evaluate(results()) if "FastAPI" in g.name)
    assert fastapi.measured.startswith("3.00x") and fastapi.met is True  # 90/30, p99 120 <= 300
    latency = next(g for g in evaluate(results()) if "latency" in g.name)
    assert latency.measured.startswith("1.5 ms") and latency.met is True  # 12.0 - 10.5
    met = {g.name.split(":")[0]: g.met for g in evaluate(results()) if "per core" in g.name or "batched" in g.name}
    assert met == {"image": True, "audio": False, "text": True}
    assert len(evaluate(results())) == 6


def test_paired_rounds_decide_the_ratio_goals_by_their_median():
    res = results()
    res.rounds = [Round(i, 10.0, 10.0 + extra, 100.0, thr, 8, 90.0, 100.0, 30.0 * k, 200.0)
                  for i, (extra, thr, k) in enumerate(((1.0, 95.0, 1.0), (3.0, 80.0, 1.5), (2.5, 85.0, 1.2)))]
    floor, fastapi, latency = evaluate(res)[:3]
    assert floor.measured.startswith("0.85x") and floor.met is False  # median of 0.95, 0.80, 0.85
    assert "0.95, 0.80, 0.85" in floor.measured
    assert fastapi.measured.startswith("2.50x") and fastapi.met is False  # 90/36 is the median round
    assert latency.measured.startswith("2.5 ms") and latency.met is False


def test_p99_worse_than_the_baseline_misses_the_fastapi_goal():
    res = results()
    res.loadgen[0] = LoadResult("triton-sdk-grpc", 8, 100, 0, 90.0, 80.0, 100.0, 301.0)
    assert next(g for g in evaluate(res) if "FastAPI" in g.name).met is False


def test_missing_measurements_are_reported_not_guessed():
    res = Results(QUICK, describe([]))
    goals = evaluate(res)
    assert [g.met for g in goals] == [None, None, None]
    assert batching_gain(res) is None


def test_batching_gain_compares_best_throughputs_either_way():
    res = results()
    assert round(batching_gain(res), 3) == round(95.0 / 76.0, 3)
    res.flip_batches = True  # now the flipped run is the batching one
    assert round(batching_gain(res), 3) == round(76.0 / 95.0, 3)
