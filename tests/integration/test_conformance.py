"""The KServe v2 surface a client touches, row by row, over both protocols: HTTP with plain
JSON (no SDK: what curl sends) and gRPC with the official tritonclient. Each row asserts the
exact status and the fields a client reads. README.md, "What a Triton client can use", lists
the same rows.
"""

from __future__ import annotations

import json
import struct
import urllib.error
import urllib.request

import numpy as np
import pytest
import tritonclient.grpc as grpc
from tritonclient.utils import InferenceServerException

pytestmark = pytest.mark.integration
TEXT = "the digit 7 written on a card"
GRPC_ADMIN_PREFIX = "triton-grpc-protocol-"


def _http(server, path: str, body: dict | bytes | None = None, headers: dict | None = None):
    """(status, headers, body bytes) of one request; POST when there is a body."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{server.cfg.http_url}{path}", data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _json(server, path: str, body=None, headers=None) -> tuple[int, dict]:
    status, _, raw = _http(server, path, body, headers)
    return status, json.loads(raw) if raw else {}


def _text_input(graph, rows: int = 1, name: str | None = None, datatype: str = "BYTES", shape=None) -> dict:
    text = graph.raw("text")
    return {"name": name or text.name, "shape": shape or [rows, 1], "datatype": datatype, "data": [TEXT] * rows}


def _grpc_text(graph, rows: int = 1, name: str | None = None, dtype: str = "BYTES", array=None):
    array = np.array([[TEXT.encode()]] * rows, dtype=object) if array is None else array
    inp = grpc.InferInput(name or graph.raw("text").name, list(array.shape), dtype)
    inp.set_data_from_numpy(array)
    return inp


def _grpc_status(call) -> tuple[str, str]:
    with pytest.raises(InferenceServerException) as e:
        call()
    return e.value.status(), e.value.message()


# -- health, metadata, config, readiness ---------------------------------------------------

def test_health_live_and_ready(server, grpc_client):
    assert _http(server, "/v2/health/live")[0] == 200
    assert _http(server, "/v2/health/ready")[0] == 200
    assert grpc_client.is_server_live() and grpc_client.is_server_ready()


def test_server_metadata_names_triton_and_its_extensions(server, grpc_client):
    status, meta = _json(server, "/v2")
    g = grpc_client.get_server_metadata(as_json=True)
    for m in (meta, g):
        assert m["name"] == "triton" and m["version"]
        assert {"classification", "binary_tensor_data", "parameters", "schedule_policy"} <= set(m["extensions"])
    assert status == 200 and meta["version"] == g["version"]


@pytest.mark.parametrize("which", ["ensemble", "tensor_ensemble"])
def test_model_metadata_lists_the_spec_inputs_and_outputs(server, grpc_client, graph, which):
    ens = getattr(graph, which)
    status, meta = _json(server, f"/v2/models/{ens.name}")
    g = grpc_client.get_model_metadata(ens.name, as_json=True)
    assert status == 200
    for m in (meta, g):
        assert m["name"] == ens.name and m["versions"] == ["1"] and m["platform"] == "ensemble"
        assert [(t["name"], t["datatype"]) for t in m["inputs"]] == [(t.name, t.dtype.triton_wire) for t in ens.inputs]
        assert [(t["name"], t["datatype"]) for t in m["outputs"]] == [(t.name, t.dtype.triton_wire) for t in ens.outputs]
        assert [[int(d) for d in t["shape"]] for t in m["outputs"]] == [[-1, *t.config_dims] for t in ens.outputs]


def test_model_config_publishes_batch_limit_classes_and_label_file(server, grpc_client, graph):
    status, cfg = _json(server, f"/v2/models/{graph.ensemble.name}/config")
    g = grpc_client.get_model_config(graph.ensemble.name, as_json=True)["config"]
    assert status == 200
    for c in (cfg, g):
        assert int(c["max_batch_size"]) == graph.ensemble.max_batch_size
        assert c["parameters"]["class_names"]["string_value"].split(",") == list(graph.class_names)
        labelled = [o["name"] for o in c["output"] if o.get("label_filename")]
        assert labelled == [graph.probabilities.name]


def test_model_readiness_and_versions(server, grpc_client, graph):
    name = graph.ensemble.name
    assert _http(server, f"/v2/models/{name}/ready")[0] == 200
    assert _http(server, f"/v2/models/{name}/versions/1/ready")[0] == 200
    assert _http(server, "/v2/models/no_such_model/ready")[0] == 400  # Triton 2.51: "Model version not ready"
    assert grpc_client.is_model_ready(name) and grpc_client.is_model_ready(name, "1")
    assert not grpc_client.is_model_ready("no_such_model")


def test_unknown_model_is_404_and_not_found(server, grpc_client, graph):
    status, body = _json(server, "/v2/models/no_such_model")
    assert status == 404 and "no_such_model" in body["error"]
    status, body = _json(server, "/v2/models/no_such_model/infer", {"inputs": [_text_input(graph)]})
    assert status == 404 and "no_such_model" in body["error"]
    status, body = _json(server, f"/v2/models/{graph.ensemble.name}/versions/9/infer", {"inputs": [_text_input(graph)]})
    assert status == 404 and "version 9" in body["error"]
    code, message = _grpc_status(lambda: grpc_client.infer("no_such_model", [_grpc_text(graph)]))
    assert code == "StatusCode.NOT_FOUND" and "no_such_model" in message


# -- inference ------------------------------------------------------------------------------

def test_infer_with_json_data_and_the_request_id_echoed(server, grpc_client, graph):
    body = {"id": "req-42", "inputs": [_text_input(graph)]}
    status, out = _json(server, f"/v2/models/{graph.ensemble.name}/infer", body)
    assert status == 200 and out["id"] == "req-42" and out["model_name"] == graph.ensemble.name
    outputs = {o["name"]: o for o in out["outputs"]}
    assert set(outputs) == {t.name for t in graph.ensemble.outputs}  # in no particular order
    probs = outputs[graph.probabilities.name]
    assert probs["datatype"] == "FP32" and probs["shape"] == [1, len(graph.class_names)]
    result = grpc_client.infer(graph.ensemble.name, [_grpc_text(graph)], request_id="req-43")
    assert result.get_response().id == "req-43"
    assert np.array_equal(result.as_numpy(graph.probabilities.name), np.asarray([probs["data"]], np.float32))


def test_a_request_of_several_rows_answers_row_by_row(server, grpc_client, graph):
    """Shape [3, 1]: three captions in one request; each row as it answers alone (the encoders
    run them as a batch of 3, so values agree to float rounding, labels exactly)."""
    texts = [TEXT, "a card showing the number three", "nine"]
    body = {"inputs": [{**_text_input(graph, rows=3), "data": texts}]}
    status, out = _json(server, f"/v2/models/{graph.ensemble.name}/infer", body)
    assert status == 200
    rows = {o["name"]: o for o in out["outputs"]}
    probs = np.asarray(rows[graph.probabilities.name]["data"], np.float32).reshape(3, -1)
    assert rows[graph.label.name]["shape"] == [3, 1]
    batched = grpc_client.infer(graph.ensemble.name, [_grpc_text(graph, array=np.array([[t.encode()] for t in texts],
                                                                                        dtype=object))])
    for i, text in enumerate(texts):
        alone = grpc_client.infer(graph.ensemble.name, [_grpc_text(graph, array=np.array([[text.encode()]], dtype=object))])
        single = alone.as_numpy(graph.probabilities.name)[0]
        assert np.max(np.abs(probs[i] - single)) <= 1e-5 and np.max(np.abs(batched.as_numpy(graph.probabilities.name)[i] - single)) <= 1e-5
        assert rows[graph.label.name]["data"][i] == int(alone.as_numpy(graph.label.name)[0, 0]) == int(single.argmax())


def _binary_outputs(headers: dict, raw: bytes) -> tuple[dict, dict[str, bytes]]:
    """Triton's binary tensor extension: a JSON header of Inference-Header-Content-Length bytes,
    then each binary output's bytes in order (``binary_data_size`` each)."""
    size = int(headers["Inference-Header-Content-Length"])
    header, rest, blobs = json.loads(raw[:size]), raw[size:], {}
    for o in header["outputs"]:
        n = o.get("parameters", {}).get("binary_data_size")
        if n is not None:
            blobs[o["name"]], rest = rest[:n], rest[n:]
    assert rest == b""
    return header, blobs


@pytest.mark.parametrize("binary", [True, False], ids=["binary_data_output on", "off"])
def test_binary_data_output_on_and_off(server, graph, binary):
    body = {"inputs": [_text_input(graph)], "parameters": {"binary_data_output": binary}}
    status, headers, raw = _http(server, f"/v2/models/{graph.ensemble.name}/infer", body)
    assert status == 200
    reference = _json(server, f"/v2/models/{graph.ensemble.name}/infer", {"inputs": [_text_input(graph)]})[1]
    want = {o["name"]: np.asarray(o["data"], np.float32 if o["datatype"] == "FP32" else np.int32)
            for o in reference["outputs"]}
    if not binary:
        assert headers["Content-Type"].startswith("application/json")
        got = {o["name"]: np.asarray(o["data"], want[o["name"]].dtype) for o in json.loads(raw)["outputs"]}
    else:
        header, blobs = _binary_outputs(headers, raw)
        assert set(blobs) == set(want)
        got = {n: np.frombuffer(b, want[n].dtype) for n, b in blobs.items()}
    assert set(got) == set(want) and all(np.array_equal(got[n], want[n]) for n in want)


def test_binary_input_data(server, graph):
    """BYTES in binary: each element is a 4-byte little-endian length, then the bytes."""
    data = struct.pack("<I", len(TEXT)) + TEXT.encode()
    header = json.dumps({"inputs": [{"name": graph.raw("text").name, "shape": [1, 1], "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(data)}}],
                         "outputs": [{"name": graph.label.name}]}).encode()
    status, _, raw = _http(server, f"/v2/models/{graph.ensemble.name}/infer", header + data,
                           {"Inference-Header-Content-Length": str(len(header)),
                            "Content-Type": "application/octet-stream"})
    plain = _json(server, f"/v2/models/{graph.ensemble.name}/infer",
                  {"inputs": [_text_input(graph)], "outputs": [{"name": graph.label.name}]})[1]
    assert status == 200 and json.loads(raw)["outputs"] == plain["outputs"]


BAD = {  # row -> (HTTP input, gRPC input, words the error must contain)
    "wrong input name": (lambda g: _text_input(g, name="no_such_input"), lambda g: _grpc_text(g, name="no_such_input"),
                         ["no_such_input"]),
    "wrong datatype": (lambda g: {**_text_input(g, datatype="FP32"), "data": [1.0]},
                       lambda g: _grpc_text(g, dtype="FP32", array=np.zeros((1, 1), np.float32)), ["data-type", "FP32"]),
    "wrong shape": (lambda g: {**_text_input(g, shape=[1, 2]), "data": [TEXT, TEXT]},
                    lambda g: _grpc_text(g, array=np.array([[b"a", b"b"]], dtype=object)), ["unexpected shape", "[1,2]"]),
    "batch above the limit": (lambda g: _text_input(g, rows=g.ensemble.max_batch_size + 1),
                              lambda g: _grpc_text(g, rows=g.ensemble.max_batch_size + 1), ["batch-size must be <= 32"]),
}


@pytest.mark.parametrize("row", sorted(BAD))
def test_a_bad_request_is_400_and_invalid_argument_naming_the_problem(server, grpc_client, graph, row):
    http_input, grpc_input, words = BAD[row]
    status, body = _json(server, f"/v2/models/{graph.ensemble.name}/infer", {"inputs": [http_input(graph)]})
    assert status == 400 and all(w in body["error"] for w in words), body
    code, message = _grpc_status(lambda: grpc_client.infer(graph.ensemble.name, [grpc_input(graph)]))
    assert code == "StatusCode.INVALID_ARGUMENT" and all(w in message for w in words), message
    assert _http(server, "/v2/health/ready")[0] == 200


def test_priority_and_timeout_parameters_are_accepted(server, grpc_client, graph):
    body = {"inputs": [_text_input(graph)], "parameters": {"priority": 1, "timeout": 30_000_000},
            "outputs": [{"name": graph.label.name}]}
    status, out = _json(server, f"/v2/models/{graph.ensemble.name}/infer", body)
    assert status == 200 and [o["name"] for o in out["outputs"]] == [graph.label.name]
    result = grpc_client.infer(graph.ensemble.name, [_grpc_text(graph)], priority=1, timeout=30_000_000,
                               outputs=[grpc.InferRequestedOutput(graph.label.name)])
    assert result.as_numpy(graph.label.name).tolist() == [out["outputs"][0]["data"]]


def test_restricted_endpoints_need_the_admin_key(server, grpc_client, graph):
    """One row per protocol; test_security.py covers every restricted API."""
    assert _http(server, "/v2/models/stats")[0] == 403
    assert _http(server, "/v2/models/stats", headers=server.cfg.admin_headers)[0] == 200
    code, _ = _grpc_status(lambda: grpc_client.get_inference_statistics(graph.ensemble.name))
    assert code == "StatusCode.UNAVAILABLE"
    key = {GRPC_ADMIN_PREFIX + k: v for k, v in server.cfg.admin_headers.items()}
    assert grpc_client.get_inference_statistics(graph.ensemble.name, headers=key)
