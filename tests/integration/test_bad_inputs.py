"""Bad inputs fail alone, with a clear INVALID_ARGUMENT message; their neighbours succeed; the
server stays ready."""

from __future__ import annotations

import io
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import soundfile as sf
import tritonclient.grpc as grpc
from hostile_corpus import bomb_png
from tritonclient.utils import InferenceServerException

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.serving.requests import ensemble_inputs

pytestmark = pytest.mark.integration


def _wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.zeros(int(seconds * rate), np.float32), rate, format="WAV")
    return buf.getvalue()


def _raw(graph, name: str, array: np.ndarray, dtype: str):
    inp = grpc.InferInput(name, list(array.shape), dtype)
    inp.set_data_from_numpy(array)
    return [inp]


def bad_requests(graph) -> dict[str, tuple[list, str]]:
    image, audio, text = (t.name for t in graph.ensemble.inputs)
    return {
        "corrupt image": (ensemble_inputs(grpc, graph, image=b"\xff\xd8\xff\xe0" + b"\x13" * 500), "not a decodable image"),
        "empty image": (ensemble_inputs(grpc, graph, image=b""), "image is empty"),
        "huge image": (ensemble_inputs(grpc, graph, image=bomb_png(20000, 20000)), "the limit is"),
        "non-audio bytes": (ensemble_inputs(grpc, graph, audio=b"this is not audio " * 50), "not a decodable audio"),
        "too long audio": (ensemble_inputs(grpc, graph, audio=_wav(graph.preset.audio.max_input_seconds + 2)), "the limit is"),
        "empty text": (ensemble_inputs(grpc, graph, text=""), "text is empty"),
        "huge text": (ensemble_inputs(grpc, graph, text="seven " * 5000), "characters; the limit is"),
        "invalid utf-8": (ensemble_inputs(grpc, graph, text=b"\xff\xfe\xfd"), "not valid UTF-8"),
        "wrong dtype": (_raw(graph, image, np.zeros((1, 1), np.float32), "FP32"), "data-type"),
        "wrong shape": (_raw(graph, text, np.array([[b"a", b"b"]], dtype=object), "BYTES"), "shape"),
        "no inputs": ([], ""),
    }


def _send(client, graph, inputs):
    try:
        return client.infer(graph.ensemble.name, inputs), None
    except InferenceServerException as e:
        return None, e


def test_bad_inputs_fail_alone_and_the_server_stays_up(server, grpc_client, graph, artifacts):
    folder = artifacts.manifest("test").with_suffix("")
    good = [s for s in read_manifest(artifacts.manifest("test")) if s.image and s.audio and s.text][:12]
    bad = bad_requests(graph)
    jobs = [("good", ensemble_inputs(grpc, graph, **payload(folder, s))) for s in good[:6]]
    jobs += [(name, inputs) for name, (inputs, _) in bad.items()]
    jobs += [("good", ensemble_inputs(grpc, graph, **payload(folder, s))) for s in good[6:]]
    with ThreadPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(lambda job: _send(grpc_client, graph, job[1]), jobs))
    for (name, _), (result, error) in zip(jobs, results):
        if name == "good":
            assert error is None, f"a valid request failed next to bad ones: {error}"
            continue
        assert result is None and error is not None, f"{name} was accepted"
        assert error.status() == "StatusCode.INVALID_ARGUMENT", f"{name}: {error.status()} {error.message()}"
        assert bad[name][1] in error.message(), f"{name}: unhelpful message {error.message()!r}"
        assert "shm" not in error.message().lower(), "internal details leaked"
    with urllib.request.urlopen(f"http://{server.cfg.http_url}/v2/health/ready") as r:
        assert r.status == 200
    ok = grpc_client.infer(graph.ensemble.name, ensemble_inputs(grpc, graph, text="the digit 3 written on a card"))
    assert ok.as_numpy(graph.ensemble.outputs[1].name).shape == (1, 1)
