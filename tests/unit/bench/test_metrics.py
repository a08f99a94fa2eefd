"""Prometheus text as Triton 2.51 writes it (excerpt) -> numbers."""

from mmtriton_bench.metrics import parse, total

SAMPLE = """# HELP nv_inference_request_failure Number of failed inference requests, all batch sizes
# TYPE nv_inference_request_failure counter
nv_inference_request_failure{model="multimodal",reason="OTHER",version="1"} 3
nv_inference_request_failure{model="fusion",reason="REJECTED",version="1"} 2
nv_inference_request_failure{model="fusion",reason="BACKEND",version="1"} 0
# HELP nv_inference_pending_request_count Instantaneous number of pending requests awaiting execution per-model.
# TYPE nv_inference_pending_request_count gauge
nv_inference_pending_request_count{model="fusion",version="1"} 4
nv_inference_pending_request_count{model="text_encoder",version="1"} 7
nv_inference_queue_duration_us{model="fusion",version="1"} 1.5e+06
"""


def test_parse_and_sum_by_metric_and_model():
    m = parse(SAMPLE)
    assert total(m, "nv_inference_request_failure") == 5
    assert total(m, "nv_inference_request_failure", "fusion") == 2
    assert total(m, "nv_inference_pending_request_count") == 11
    assert total(m, "nv_inference_queue_duration_us") == 1.5e6
    assert total(m, "absent_metric") == 0
    assert m["nv_inference_request_failure"][1][0] == {"model": "fusion", "reason": "REJECTED", "version": "1"}
