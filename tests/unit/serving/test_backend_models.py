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


def _initialise(model, graph, name: str, version_dir: Path):
    version_dir.mkdir(parents=True, exist_ok=True)
    config = {"parameters": {"preset": {"string_value": graph.preset.name}}}
    model.initialize({"model_config": json.dumps(config), "model_name": name,
                      "model_repository": str(version_dir.parent), "model_version": version_dir.name})
    return model


@pytest.fixture
def postprocess(graph, tmp_path):
    from mmtriton.serving.models import Postprocess

    return _initialise(Postprocess(), graph, graph.postprocess.name, tmp_path / "postprocess" / "1")


@pytest.fixture
def text_preprocess(graph, tmp_path):
    from mmtriton.resources import default_text_model
    from mmtriton.serving.models import TextPreprocess

    version = tmp_path / "text_preprocess" / "1"
    version.mkdir(parents=True)
    shutil.copy(Path(default_text_model()) / "tokenizer.json", version / "tokenizer.json")
    return _initialise(TextPreprocess(), graph, graph.text_preprocess.name, version)


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
