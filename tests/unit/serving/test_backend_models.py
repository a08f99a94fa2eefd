"""The Python-backend base class and models, run outside Triton with a fake ``pb_utils``: per-request
errors stay per request, batches split back in order, cancelled requests are answered, and an
unexpected exception becomes a generic INTERNAL error for that batch only."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np

from mmtriton.spec.graph import INTERNAL_PREFIX
from mmtriton.spec.tensors import Role
import pytest

from fake_pb_utils import Request, install  # noqa: I001 - tests/unit/serving is on sys.path (rootdir conftest)

pb = install()


def _initialise(model, graph, name: str, version_dir: Path, **params: str):
    version_dir.mkdir(parents=True, exist_ok=True)
    values = {"preset": graph.preset.name, **params}
    config = {"parameters": {k: {"string_value": v} for k, v in values.items()}}
    model.initialize({"model_config": json.dumps(config), "model_name": name,
                      "model_repository": str(version_dir.parent), "model_version": version_dir.name})
    return model


@pytest.fixture
def postprocess(graph, tmp_path):
    from mmtriton.serving.models import Postprocess

    return _initialise(Postprocess(), graph, graph.postprocess.name, tmp_path / "postprocess" / "1")


def _text_preprocess(graph, root: Path, **params: str):
    from mmtriton.resources import default_text_model
    from mmtriton.serving.models import TextPreprocess

    version = root / "text_preprocess" / "1"
    version.mkdir(parents=True)
    shutil.copy(Path(default_text_model()) / "tokenizer.json", version / "tokenizer.json")
    return _initialise(TextPreprocess(), graph, graph.text_preprocess.name, version, **params)


@pytest.fixture
def text_preprocess(graph, tmp_path):
    return _text_preprocess(graph, tmp_path)


def _probs(rows: list[list[float]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32)


def _post_request(graph, probs: np.ndarray, **errors: str) -> Request:
    inputs = {t.name: probs if t.role is Role.PROBABILITIES else np.zeros((len(probs), *t.dims), np.float32)
              for t in graph.postprocess.inputs if t.role is not Role.ERROR}
    for modality, message in errors.items():
        inputs[graph.error(modality).name] = np.array([[message.encode()]] * len(probs), dtype=object)
    return Request(inputs)


def test_one_bad_request_fails_alone_and_the_batch_splits_back_in_order(graph, postprocess):
    n = len(graph.class_names)
    first, last = _probs([np.eye(n)[3], np.eye(n)[1]]), _probs([np.eye(n)[7]])
    requests = [_post_request(graph, first), _post_request(graph, first[:1], image="image: not a decodable image"),
                Request({}), _post_request(graph, last, audio="")]
    responses = postprocess.execute(requests)
    assert len(responses) == len(requests)
    label = graph.label.name
    assert responses[0].error is None and responses[0].outputs()[label].ravel().tolist() == [3, 1]
    assert responses[1].error.code == pb.TritonError.INVALID_ARG and "not a decodable image" in responses[1].error.msg
    assert responses[2].error.code == pb.TritonError.INVALID_ARG and "missing" in responses[2].error.msg
    assert responses[3].error is None and responses[3].outputs()[label].ravel().tolist() == [7], "empty error = none"


def test_postprocess_publishes_every_output_unchanged_under_its_public_name(graph, postprocess):
    """The ensemble reads its outputs from the last step only (spec.graph._check_prunable)."""
    rng = np.random.default_rng(0)
    inputs = {t.name: rng.random((2, *t.dims), dtype=np.float32)
              for t in graph.postprocess.inputs if t.role is not Role.ERROR}
    (response,) = postprocess.execute([Request(inputs)])
    out = response.outputs()
    assert set(out) == {t.name for t in graph.ensemble.outputs}
    for name, value in inputs.items():
        public = name.removeprefix(INTERNAL_PREFIX)
        assert public != name and np.array_equal(out[public], value)
    assert out[graph.label.name].ravel().tolist() == inputs[INTERNAL_PREFIX + graph.probabilities.name].argmax(1).tolist()


def test_a_cancelled_request_is_answered_cancelled_and_its_neighbours_served(graph, postprocess):
    n = len(graph.class_names)
    live, gone = _post_request(graph, _probs([np.eye(n)[2]])), _post_request(graph, _probs([np.eye(n)[5]]))
    gone.cancelled = True
    responses = postprocess.execute([gone, live])
    assert responses[0].error.code == pb.TritonError.CANCELLED
    assert responses[1].error is None


def test_an_unexpected_exception_fails_the_batch_with_a_generic_message(graph, postprocess, caplog, monkeypatch):
    n = len(graph.class_names)

    def broken(items):
        raise RuntimeError("secret detail at 0xdeadbeef in /tmp/region")

    monkeypatch.setattr(postprocess, "compute", broken)
    with caplog.at_level(logging.ERROR, logger="mmtriton"):
        responses = postprocess.execute([_post_request(graph, _probs([np.eye(n)[0]])) for _ in range(3)])
    assert [r.error.code for r in responses] == [pb.TritonError.INTERNAL] * 3
    assert all("internal error" in r.error.msg and "secret" not in r.error.msg for r in responses)
    assert "secret detail" in caplog.text, "the details go to the server log"


def test_text_preprocessing_reports_bad_text_as_data_and_tokenises_the_rest_in_one_batch(graph, text_preprocess):
    """A preprocessing step never fails a request (2.51 wedges on a failing sibling step): a bad
    caption becomes the request's ``text_error`` output; good ones are tokenised, each trimmed to
    its own length."""
    own = graph.text_preprocess.inputs[0].name
    texts = [b"the digit 7 written on a card", b"\xff\xfe not utf-8", b"a much longer caption about the digit two"]
    requests = [Request({own: np.array([[t]], dtype=object)}) for t in texts]
    responses = text_preprocess.execute(requests)
    assert all(r.error is None for r in responses)
    out = [r.outputs() for r in responses]
    error, present = graph.error("text").name, graph.present("text").name
    assert [o[error][0, 0] for o in out] == [b"", out[1][error][0, 0], b""] and b"UTF-8" in out[1][error][0, 0]
    assert [int(o[present][0, 0]) for o in out] == [1, 0, 1]
    ids_name = graph.text_encoder.inputs[0].name
    lengths = [o[ids_name].shape[1] for o in out]
    assert lengths[2] > lengths[0], "each request keeps its own length, not the batch's padding"


# ---- length buckets (tensorrt target: engines batch equal shapes only) -------------------------

BUCKETS = {"length_buckets": "true"}  # the parameter the config generator writes (tested there)


def test_bucketed_text_is_padded_to_its_bucket_and_otherwise_unchanged(graph, tmp_path):
    own = graph.text_preprocess.inputs[0].name
    texts = [b"seven", b"the digit 7 written on a card, in blue ink", b"two " * 40]
    plain = _text_preprocess(graph, tmp_path / "plain")
    bucketed = _text_preprocess(graph, tmp_path / "bucketed", **BUCKETS)
    ids, mask = (t.name for t in graph.token_inputs)
    for text in texts:
        request = [Request({own: np.array([[text]], dtype=object)})]
        (a,), (b,) = plain.execute(request), bucketed.execute(request)
        a, b = a.outputs(), b.outputs()
        n = a[ids].shape[1]
        assert b[ids].shape[1] == (16 if n <= 16 else 32), "demo buckets: 16 and 32 tokens"
        assert np.array_equal(b[ids][:, :n], a[ids]) and np.array_equal(b[mask][:, :n], a[mask])
        assert not b[mask][:, n:].any() and (b[ids][:, n:] == bucketed.tokenizer.pad_id).all()


def _wav(seconds: float, rate: int = 16_000) -> bytes:
    import io

    import soundfile as sf

    t = np.arange(int(seconds * rate)) / rate
    buf = io.BytesIO()
    sf.write(buf, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def test_bucketed_audio_is_padded_to_its_bucket_and_keeps_its_true_length(graph, tmp_path):
    from mmtriton.serving.models import AudioPreprocess

    plain = _initialise(AudioPreprocess(), graph, graph.audio_preprocess.name, tmp_path / "a" / "1")
    bucketed = _initialise(AudioPreprocess(), graph, graph.audio_preprocess.name, tmp_path / "b" / "1", **BUCKETS)
    own = graph.audio_preprocess.inputs[0].name
    mel, length = (t.name for t in graph.audio_encoder.inputs)
    for seconds, bucket in ((0.4, 151), (1.5, 151), (1.6, 301), (2.9, 301)):  # 1 + 16000 s // 160 frames
        request = [Request({own: np.array([[_wav(seconds)]], dtype=object)})]
        (a,), (b,) = plain.execute(request), bucketed.execute(request)
        a, b = a.outputs(), b.outputs()
        n = a[mel].shape[1]
        assert b[mel].shape[1] == bucket and int(b[length][0, 0]) == int(a[length][0, 0]) == n
        assert np.array_equal(b[mel][:, :n], a[mel]) and not b[mel][:, n:].any()
