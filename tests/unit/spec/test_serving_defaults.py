"""Serving defaults live in JSON (written by the tuning sweep) and reach every ModelSpec."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mmtriton.errors import SpecError
from mmtriton.spec.serving import DEFAULTS_PATH, batching_from_dict, load_serving_defaults, save_serving_defaults
from mmtriton.spec.tensors import BatchingSpec


def test_committed_defaults_cover_every_model_and_reach_the_graph(graph):
    defaults = load_serving_defaults()
    assert set(defaults) == {m.name for m in graph.models}
    for m in graph.models:
        assert m.batching == defaults[m.name]
    assert json.loads(DEFAULTS_PATH.read_text())["evidence"], "the file says which measurement chose it"


def test_save_then_load_round_trips(tmp_path):
    policy = {"a": BatchingSpec(preferred_batch_sizes=(2, 4), max_queue_delay_us=0, instances=3),
              "b": BatchingSpec(dynamic=False)}
    save_serving_defaults(policy, "test", tmp_path / "d.json")
    assert load_serving_defaults(tmp_path / "d.json") == policy


def test_unknown_fields_and_bad_values_are_refused():
    with pytest.raises(SpecError, match="unknown batching field"):
        batching_from_dict({"instance": 2})
    with pytest.raises(SpecError):
        batching_from_dict({"instances": 0})


def test_with_batching_changes_only_the_named_models(graph):
    new = dataclasses.replace(graph.image_encoder.batching, instances=4)
    changed = graph.with_batching({graph.image_encoder.name: new})
    assert changed.image_encoder.batching.instances == 4
    assert changed.image_encoder.inputs == graph.image_encoder.inputs
    assert all(a == b for a, b in zip(changed.models[4:], graph.models[4:]))
    assert graph.image_encoder.batching == load_serving_defaults()[graph.image_encoder.name], "original untouched"
    with pytest.raises(SpecError, match="no model"):
        graph.with_batching({"nope": new})
