"""Serving policy per model (dynamic batching, queue bounds, instances), kept in
``serving_defaults.json`` beside this file; every generated config.pbtxt reads it.

``mmtriton bench --full`` only *proposes* a policy (``policy.json`` beside its report);
``mmtriton apply-policy`` writes it here in a source checkout, or, for an installed package, to a
file of the user's that ``$MMTRITON_SERVING_DEFAULTS`` names (never into site-packages)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Mapping

from mmtriton.errors import SpecError
from mmtriton.spec.tensors import BatchingSpec

DEFAULTS_ENV = "MMTRITON_SERVING_DEFAULTS"
PACKAGED_DEFAULTS = Path(__file__).with_name("serving_defaults.json")
# Read when the spec is imported (every config the generator writes follows it): a user's file
# after `mmtriton apply-policy --to FILE` on an installed package.
DEFAULTS_PATH = Path(os.environ.get(DEFAULTS_ENV) or PACKAGED_DEFAULTS).expanduser().resolve()
# Per-target overrides: the CPU-tuned defaults do not carry over to a GPU (engines want batches).
TARGET_PATHS = {"tensorrt": Path(__file__).with_name("serving_tensorrt.json")}
_FIELDS = {f.name for f in dataclasses.fields(BatchingSpec)}
# Config parameter of the preprocessing models: "true" pads frames and tokens to the spec's
# length buckets (the tensorrt target), so that requests of different lengths can batch.
BUCKETS_PARAMETER = "length_buckets"
# Config parameter (comma-separated) of the ensembles and of every model whose tensors carry the
# class axis: the classes the served model was trained on, i.e. its data set's labels.
CLASSES_PARAMETER = "class_names"
# Ensemble parameter: the fingerprint of the data set the served checkpoint was trained on, so
# that a repository written from another checkpoint is refused before it serves.
DATA_PARAMETER = "data_fingerprint"


def batching_from_dict(raw: Mapping[str, Any]) -> BatchingSpec:
    unknown = set(raw) - _FIELDS
    if unknown:
        raise SpecError(f"unknown batching field(s) {sorted(unknown)}; known: {sorted(_FIELDS)}")
    values = dict(raw)
    if "preferred_batch_sizes" in values:
        values["preferred_batch_sizes"] = tuple(values["preferred_batch_sizes"])
    return BatchingSpec(**values)


def batching_to_dict(spec: BatchingSpec) -> dict[str, Any]:
    out = dataclasses.asdict(spec)
    out["preferred_batch_sizes"] = list(spec.preferred_batch_sizes)
    return out


def load_serving_defaults(path: Path = DEFAULTS_PATH) -> dict[str, BatchingSpec]:
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        hint = f" (named by ${DEFAULTS_ENV})" if path != PACKAGED_DEFAULTS else ""
        raise SpecError(f"cannot read serving defaults {path}{hint}: {e}") from e
    return {name: batching_from_dict(v) for name, v in raw["models"].items()}


def save_serving_defaults(defaults: Mapping[str, BatchingSpec], evidence: str, path: Path) -> None:
    """Write the defaults with a pointer to the measurement that chose them."""
    doc = {"evidence": evidence, "models": {n: batching_to_dict(b) for n, b in sorted(defaults.items())}}
    path.write_text(json.dumps(doc, indent=2) + "\n")


def target_overrides(target: str) -> dict[str, BatchingSpec]:
    """Serving policies that replace the defaults for a deployment target (empty: none)."""
    path = TARGET_PATHS.get(target)
    return load_serving_defaults(path) if path is not None else {}
