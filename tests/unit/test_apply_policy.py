"""`mmtriton apply-policy`: a tuning proposal becomes the serving defaults only when asked, only
where asked, and never inside an installed package."""

from __future__ import annotations

import dataclasses

import pytest

from mmtriton import workflows as wf
from mmtriton.errors import SpecError, WorkflowError
from mmtriton.spec.serving import PACKAGED_DEFAULTS, load_serving_defaults, save_serving_defaults


def _proposal(tmp_path, graph, **changes):
    policy = {m.name: dataclasses.replace(m.batching, **changes) for m in graph.models}
    path = tmp_path / "policy.json"
    save_serving_defaults(policy, "unit test sweep", path)
    return path, policy


def test_applied_to_a_file_of_ours_leaves_the_package_untouched(tmp_path, graph):
    before = PACKAGED_DEFAULTS.read_bytes()
    proposal, policy = _proposal(tmp_path, graph, instances=3)
    target = wf.apply_policy(proposal, tmp_path / "mine.json")
    assert target == tmp_path / "mine.json" and load_serving_defaults(target) == policy
    assert PACKAGED_DEFAULTS.read_bytes() == before


def test_a_target_inside_an_installed_package_is_refused(tmp_path, graph):
    proposal, _ = _proposal(tmp_path, graph)
    inside = tmp_path / "lib" / "python3.11" / "site-packages" / "mmtriton" / "spec" / "serving_defaults.json"
    with pytest.raises(WorkflowError, match="MMTRITON_SERVING_DEFAULTS"):
        wf.apply_policy(proposal, inside)
    assert not inside.exists()


def test_a_proposal_for_unknown_models_is_refused(tmp_path, graph):
    path = tmp_path / "policy.json"
    save_serving_defaults({"no_such_model": graph.fusion.batching}, "typo", path)
    with pytest.raises(SpecError, match="no model"):
        wf.apply_policy(path, tmp_path / "mine.json")
