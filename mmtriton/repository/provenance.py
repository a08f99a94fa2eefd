"""``trained.json`` beside each ensemble's config: which checkpoint a repository was written
from (its hash, classes and training data fingerprint), so that serving a repository with a
model other than the current checkpoint is refused with a reason instead of answering with
another model's labels. Triton ignores the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

from mmtriton.spec.graph import ModelGraph

RECORD_FILE = "trained.json"


def write_record(repo: Path, graph: ModelGraph, record: dict[str, Any]) -> None:
    for ens in graph.ensembles:
        path = repo / ens.name / RECORD_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def read_record(repo: Path, graph_name: str = "multimodal") -> Optional[dict[str, Any]]:
    path = repo / graph_name / RECORD_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def provenance_problems(repo: Path, expected: dict[str, Any], ensemble: str = "multimodal") -> list[str]:
    """Why ``repo`` does not serve the model ``expected`` describes (empty: it does)."""
    found = read_record(repo, ensemble)
    if found is None:
        return [f"{repo} records no model ({ensemble}/{RECORD_FILE} is missing): it was not written by "
                "`mmtriton repo` from a checkpoint"]
    problems = []
    if found.get("data_fingerprint") != expected.get("data_fingerprint"):
        problems.append(f"{repo} was built from a model trained on data {str(found.get('data_fingerprint'))[:12]} "
                        f"(classes {found.get('class_names')}), but the current checkpoint was trained on data "
                        f"{str(expected.get('data_fingerprint'))[:12]} (classes {expected.get('class_names')})")
    elif found.get("checkpoint_sha256") != expected.get("checkpoint_sha256"):
        problems.append(f"{repo} was built from another checkpoint (sha256 {str(found.get('checkpoint_sha256'))[:12]}) "
                        f"than the current one ({str(expected.get('checkpoint_sha256'))[:12]})")
    return problems
