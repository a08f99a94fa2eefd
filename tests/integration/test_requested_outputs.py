"""What a KServe v2 client asks for is what it gets: every non-empty subset of either
ensemble's outputs, over gRPC, HTTP binary and HTTP JSON, for every modality subset, answers
with exactly those outputs and exactly the values of the full request (requests are sent one
at a time, so every request runs at batch 1 and the values are bit-identical). Triton's
classification extension ranks the probabilities with the spec's class names.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
import tritonclient.grpc as grpc
import tritonclient.http as http
from tritonclient.utils import InferenceServerException

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.preprocess.tensors import sample_tensors
from mmtriton.serving.requests import ensemble_inputs
from mmtriton.spec import SUBSETS

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENCODINGS = ("grpc", "http-binary", "http-json")


@pytest.fixture(scope="module")
def clients(server, grpc_client):
    client = http.InferenceServerClient(server.cfg.http_url, network_timeout=60)
    yield {"grpc": grpc_client, "http": client}
    client.close()


@pytest.fixture(scope="module")
def sample(artifacts):
    folder = artifacts.manifest("test").with_suffix("")
    full = next(s for s in read_manifest(artifacts.manifest("test")) if s.image and s.audio and s.text)
    return payload(folder, full)


def _module(encoding: str):
    return grpc if encoding == "grpc" else http


def _requested(encoding: str, names, class_count: int = 0) -> list:
    if encoding == "grpc":
        return [grpc.InferRequestedOutput(n, class_count=class_count) for n in names]
    return [http.InferRequestedOutput(n, binary_data=encoding == "http-binary", class_count=class_count) for n in names]


def _inputs(graph, preprocessor, model: str, module, data: dict) -> list:
    if model == graph.ensemble.name:
        return ensemble_inputs(module, graph, **data)
    arrays = sample_tensors(preprocessor, data["image"], data["audio"], data["text"])
    out = []
    for spec in graph.tensor_ensemble.inputs:
        inp = module.InferInput(spec.name, list(arrays[spec.name].shape), spec.dtype.triton_wire)
        inp.set_data_from_numpy(arrays[spec.name])
        out.append(inp)
    return out


def _answer(result, encoding: str) -> dict[str, np.ndarray]:
    response = result.get_response(as_json=True) if encoding == "grpc" else result.get_response()
    return {o["name"]: result.as_numpy(o["name"]) for o in response["outputs"]}


@pytest.mark.parametrize("ensemble", ["ensemble", "tensor_ensemble"])
def test_every_subset_of_outputs_answers_with_the_full_requests_values(clients, graph, preprocessor, sample, ensemble):
    model = getattr(graph, ensemble).name
    names = [t.name for t in getattr(graph, ensemble).outputs]
    subsets = [c for k in range(1, len(names) + 1) for c in combinations(names, k)]
    assert len(subsets) == 2 ** len(names) - 1
    checked = 0
    for modalities in SUBSETS:
        data = {m: (v if m in modalities else None) for m, v in sample.items()}
        full = _answer(clients["grpc"].infer(model, _inputs(graph, preprocessor, model, grpc, data)), "grpc")
        assert set(full) == set(names)
        for encoding in ENCODINGS:
            client, module = clients[encoding.split("-")[0]], _module(encoding)
            inputs = _inputs(graph, preprocessor, model, module, data)
            for subset in subsets:
                got = _answer(client.infer(model, inputs, outputs=_requested(encoding, subset)), encoding)
                assert set(got) == set(subset), (encoding, modalities, subset)
                for name in subset:
                    assert got[name].dtype == full[name].dtype and np.array_equal(got[name], full[name]), \
                        (encoding, modalities, subset, name)
                checked += 1
    assert checked == len(SUBSETS) * len(ENCODINGS) * len(subsets)
    print(f"{model}: {checked} requests, every answer identical to the full request")


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_an_unknown_output_is_refused_by_name(clients, graph, sample, encoding):
    client = clients[encoding.split("-")[0]]
    inputs = ensemble_inputs(_module(encoding), graph, text=sample["text"])
    with pytest.raises(InferenceServerException) as e:
        client.infer(graph.ensemble.name, inputs, outputs=_requested(encoding, [graph.label.name, "no_such_output"]))
    assert "unexpected inference output 'no_such_output'" in e.value.message()
    assert e.value.status() == ("StatusCode.INVALID_ARGUMENT" if encoding == "grpc" else "400")


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("k", [1, 3, 10])
def test_classification_ranks_the_probabilities_with_the_class_names(clients, graph, sample, encoding, k):
    """``class_count=k``: the k best as ``score:index:label``, best first, agreeing with the
    probabilities of the same request without it (scores are printed with 6 decimals)."""
    client, module = clients[encoding.split("-")[0]], _module(encoding)
    inputs = ensemble_inputs(module, graph, image=sample["image"], text=sample["text"])
    probs = client.infer(graph.ensemble.name, inputs).as_numpy(graph.probabilities.name)[0]
    result = client.infer(graph.ensemble.name, inputs, outputs=_requested(encoding, [graph.probabilities.name], k))
    entries = [e.decode() if isinstance(e, bytes) else e for e in result.as_numpy(graph.probabilities.name).reshape(-1)]
    assert len(entries) == k
    ranked = [(float(score), int(index), label) for score, index, label in (e.split(":", 2) for e in entries)]
    assert [i for _, i, _ in ranked] == list(np.argsort(-probs, kind="stable")[:k])
    for score, index, label in ranked:
        assert label == graph.class_names[index]
        assert abs(score - probs[index]) <= 5e-7
