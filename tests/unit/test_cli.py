from __future__ import annotations

import json

from typer.testing import CliRunner

from mmtriton.cli import app


def test_spec_json_lists_every_model_and_tensor(graph):
    result = CliRunner().invoke(app, ["spec", "--json"])
    assert result.exit_code == 0, result.output
    listed = {m["name"]: m for m in json.loads(result.output)}
    assert set(listed) == {m.name for m in graph.models}
    for m in graph.models:
        assert [t["name"] for t in listed[m.name]["inputs"]] == list(m.input_names)
        assert [t["dims"] for t in listed[m.name]["outputs"]] == [list(t.config_dims) for t in m.outputs]


def test_parity_without_artifacts_exits_2_with_a_hint(tmp_path, monkeypatch):
    monkeypatch.setenv("MMTRITON_ARTIFACTS", str(tmp_path))
    result = CliRunner().invoke(app, ["parity"], terminal_width=250)
    assert result.exit_code == 2
    assert "mmtriton train" in result.output


def test_train_options_default_to_the_training_config():
    """The CLI spells its defaults out (it must not import torch to show --help); they must be
    TrainConfig's, or `mmtriton train` and `make demo` would train another model than the code says."""
    import dataclasses
    import inspect

    from mmtriton.cli import train
    from mmtriton.training.loop import TrainConfig

    options = inspect.signature(train).parameters
    shared = [f for f in dataclasses.fields(TrainConfig) if f.name in options]
    assert len(shared) >= 6
    for f in shared:
        default = options[f.name].default
        assert getattr(default, "default", default) == f.default, f.name
