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
