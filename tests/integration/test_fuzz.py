"""Hypothesis-driven requests against the served ensemble over gRPC and HTTP: mutated files, wrong
dtypes and shapes, missing inputs, bad JSON, lying binary-header lengths and huge declared sizes.
Pass: no crash, no hang, every answer is a result or a clear error; the server stays ready.
A request with no input at all wedges 2.51, so it is sent in test_faults.py under supervision."""

from __future__ import annotations

import http.client
import json

import numpy as np
import pytest
import tritonclient.grpc as grpc
from hostile_corpus import encode_audio, image_cases
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tritonclient.utils import InferenceServerException

from mmtriton.serving.requests import ensemble_inputs

pytestmark = [pytest.mark.integration, pytest.mark.slow]
FUZZ = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CLEAR_GRPC = {"StatusCode.INVALID_ARGUMENT"}
SEEDS = {"image": next(c.data for c in image_cases() if c.name == "progressive-jpeg"),
         "audio": encode_audio(0.5, 16000, "WAV", "PCM_16")}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """A valid file with random bytes overwritten, a random cut, or random junk appended."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(0, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=64))


def _grpc_outcome(client, model: str, inputs) -> str:
    try:
        client.infer(model, inputs, client_timeout=30)
        return "ok"
    except InferenceServerException as e:
        assert e.message(), "an error without a message"
        return e.status() or "none"


@pytest.mark.parametrize("modality", ["image", "audio"])
def test_grpc_mutated_files_are_served_or_refused(server, grpc_client, graph, modality):
    @FUZZ
    @given(data=mutated(SEEDS[modality]))
    def check(data: bytes) -> None:
        outcome = _grpc_outcome(grpc_client, graph.ensemble.name, ensemble_inputs(grpc, graph, **{modality: data}))
        assert outcome == "ok" or outcome in CLEAR_GRPC, outcome

    check()
    assert server.is_ready()


@FUZZ
@given(text=st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_grpc_arbitrary_text_and_bytes(server, grpc_client, graph, text):
    outcome = _grpc_outcome(grpc_client, graph.ensemble.name, ensemble_inputs(grpc, graph, text=text))
    assert outcome == "ok" or outcome in CLEAR_GRPC, outcome


WRONG_TYPES = ["FP32", "INT32", "INT64", "UINT8", "BOOL", "FP16"]


@FUZZ
@given(which=st.integers(0, 2), dtype=st.sampled_from(WRONG_TYPES),
       shape=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_grpc_wrong_dtypes_and_shapes(server, grpc_client, graph, which, dtype, shape):
    name = graph.ensemble.inputs[which].name
    arr = np.zeros(shape, dtype=np.dtype({"FP32": "float32", "INT32": "int32", "INT64": "int64", "UINT8": "uint8",
                                          "BOOL": "bool", "FP16": "float16"}[dtype]))
    inp = grpc.InferInput(name, shape, dtype)
    inp.set_data_from_numpy(arr)
    assert _grpc_outcome(grpc_client, graph.ensemble.name, [inp]) in CLEAR_GRPC


@FUZZ
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_grpc_bytes_with_odd_shapes(server, grpc_client, graph, shape):
    inp = grpc.InferInput(graph.ensemble.inputs[2].name, shape, "BYTES")
    inp.set_data_from_numpy(np.full(shape, b"the digit 4", dtype=object))
    outcome = _grpc_outcome(grpc_client, graph.ensemble.name, [inp])
    valid = len(shape) == 2 and shape[1] == 1  # [batch, 1] with batch <= max_batch_size
    assert outcome == "ok" if valid else outcome in CLEAR_GRPC, (shape, outcome)


def _http(server, model: str, body: bytes, headers: dict) -> tuple[int, bytes]:
    host, port = server.cfg.http_url.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("POST", f"/v2/models/{model}/infer", body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def _clear_http(status: int, body: bytes) -> bool:
    """A result, or a 4xx/5xx whose JSON body carries an error message."""
    if status == 200:
        return True
    try:
        return bool(json.loads(body).get("error"))
    except (ValueError, AttributeError):
        return False


@FUZZ
@given(body=st.one_of(st.binary(max_size=200), st.text(max_size=200).map(str.encode),
                      st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                                   lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
                                   max_leaves=10).map(lambda v: json.dumps(v).encode())))
def test_http_bad_json_bodies(server, graph, body):
    status, reply = _http(server, graph.ensemble.name, body, {"Content-Type": "application/json"})
    assert status != 200 and _clear_http(status, reply), (status, reply[:200])


def _binary_request(name: str, text: bytes, declared: int | None) -> tuple[bytes, int]:
    """Triton's binary extension: JSON header, then the BYTES element as 4-byte length + data."""
    size = len(text) + 4 if declared is None else declared
    header = json.dumps({"inputs": [{"name": name, "shape": [1, 1], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": size}}]}).encode()
    return header + len(text).to_bytes(4, "little") + text, len(header)


@FUZZ
@given(delta=st.integers(-40, 40), declared=st.sampled_from([None, 2**31 - 1, 2**32 + 7, 0]))
def test_http_lying_binary_header_lengths_and_huge_declared_sizes(server, graph, delta, declared):
    body, header_len = _binary_request(graph.ensemble.inputs[2].name, b"the digit 5 written on a card", declared)
    status, reply = _http(server, graph.ensemble.name, body, {"Inference-Header-Content-Length": str(header_len + delta),
                                         "Content-Type": "application/octet-stream"})
    assert _clear_http(status, reply), (status, reply[:200])
    if delta == 0 and declared is None:
        assert status == 200


def test_server_is_ready_after_fuzzing(server, grpc_client, graph):
    assert server.is_ready()
    assert _grpc_outcome(grpc_client, graph.ensemble.name, ensemble_inputs(grpc, graph, text="the digit 2")) == "ok"
