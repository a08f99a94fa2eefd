"""Typed, frozen building blocks of the spec: dimensions, tensors, models, ensemble steps.

Validation happens in ``__post_init__`` so a bad spec fails at import time with a SpecError
instead of producing a broken export or config later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping, Union

from mmtriton.errors import SpecError
from mmtriton.spec.dtypes import DType


@dataclass(frozen=True)
class Dim:
    """A dynamic axis with its TensorRT-style min/opt/max range."""

    name: str
    min: int
    opt: int
    max: int
    # Lengths a padded axis is rounded up to for backends that batch only equal shapes
    # (TensorRT): ascending, inside min..max, the last one max, so every length has a bucket.
    buckets: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not (1 <= self.min <= self.opt <= self.max):
            raise SpecError(f"dim {self.name!r}: need 1 <= min <= opt <= max, got {self.min}/{self.opt}/{self.max}")
        b = self.buckets
        if b and (list(b) != sorted(set(b)) or b[0] < self.min or b[-1] != self.max):
            raise SpecError(f"dim {self.name!r}: buckets {b} must ascend from >= {self.min} and end at {self.max}")

    def bucket(self, length: int) -> int:
        """The smallest bucket that holds ``length`` (``length`` itself when there are none)."""
        if not self.min <= length <= self.max:
            raise SpecError(f"dim {self.name!r}: length {length} is outside {self.min}..{self.max}")
        return next((b for b in self.buckets if b >= length), length)

    def bucket_ranges(self) -> tuple[tuple[int, int], ...]:
        """(shortest, longest) length each bucket receives: one engine profile per bucket."""
        if not self.buckets:
            return ((self.min, self.max),)
        lows = (self.min,) + tuple(b + 1 for b in self.buckets[:-1])
        return tuple(zip(lows, self.buckets))


DimLike = Union[int, Dim]


class Role(str, Enum):
    """What a tensor *is*, so that code asks the spec by meaning instead of by position (the
    exporter, placeholders and batching treat lengths, masks and flags differently)."""

    RAW = "raw"  # encoded bytes / text a client sends
    FEATURES = "features"  # pixels, log-mel frames, token ids: what an encoder reads
    LENGTH = "length"  # valid length of a padded feature axis (one int per row)
    MASK = "mask"  # attention mask over a padded axis
    PRESENT = "present"  # 1.0 when the modality was sent
    ERROR = "error"  # a preprocessing step's per-request error message (empty = none)
    EMBEDDING = "embedding"
    PROBABILITIES = "probabilities"
    LABEL = "label"
    FUSED = "fused_embedding"


@dataclass(frozen=True)
class TensorSpec:
    """One input or output tensor, dims *without* the batch axis (Triton's convention)."""

    name: str
    dtype: DType
    dims: tuple[DimLike, ...]
    optional: bool = False  # a request may omit it (missing modality)
    ragged: bool = False  # Triton may batch requests whose dynamic dims differ; the model pads
    role: Role = Role.FEATURES

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise SpecError(f"tensor name {self.name!r} must be an identifier")
        for d in self.dims:
            if isinstance(d, int) and d < 1:
                raise SpecError(f"tensor {self.name!r}: static dims must be >= 1, got {d}")

    @property
    def config_dims(self) -> tuple[int, ...]:
        """Dims as Triton's config.pbtxt writes them: -1 for a dynamic axis."""
        return tuple(-1 if isinstance(d, Dim) else d for d in self.dims)

    @property
    def dynamic_axes(self) -> dict[int, Dim]:
        """Dynamic axes keyed by position in the *batched* shape (batch is axis 0)."""
        return {i + 1: d for i, d in enumerate(self.dims) if isinstance(d, Dim)}

    def shape(self, batch: int, which: str = "opt") -> tuple[int, ...]:
        """A concrete batched shape, taking ``which`` (min/opt/max) of every dynamic axis."""
        return (batch,) + tuple(getattr(d, which) if isinstance(d, Dim) else d for d in self.dims)


@dataclass(frozen=True)
class ShapeProfile:
    """A TensorRT optimisation profile entry for one input: full batched shapes."""

    min: tuple[int, ...]
    opt: tuple[int, ...]
    max: tuple[int, ...]


@dataclass(frozen=True)
class BatchingSpec:
    """Serving policy of one model: dynamic batching, queue bounds and instances."""

    dynamic: bool = True  # False: one request per execute (no dynamic batcher)
    preferred_batch_sizes: tuple[int, ...] = (4, 8)
    max_queue_delay_us: int = 500
    # 0: the queue is bounded in time only. Triton 2.51 segfaults when a composing model of an
    # ensemble rejects a request on a full queue (model_repository/README.md has the measurements),
    # so the defaults rely on the timeout; arrival rate x timeout bounds the length.
    max_queue_size: int = 0
    queue_timeout_us: int = 5_000_000  # a request waits at most 5 s in a model queue, then REJECT
    instances: int = 1

    def __post_init__(self) -> None:
        if self.instances < 1 or self.max_queue_size < 0 or self.max_queue_delay_us < 0 or self.queue_timeout_us < 0:
            raise SpecError(f"invalid batching policy {self}")


@dataclass(frozen=True)
class ModelSpec:
    """A model of the serving graph: a preprocessing model, an encoder or the fusion model."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    opt_batch_size: int
    description: str = ""
    batching: BatchingSpec = BatchingSpec()

    def __post_init__(self) -> None:
        names = [t.name for t in self.inputs + self.outputs]
        if len(set(names)) != len(names):
            raise SpecError(f"model {self.name!r}: duplicate tensor names {names}")
        if not (1 <= self.opt_batch_size <= self.max_batch_size):
            raise SpecError(f"model {self.name!r}: need 1 <= opt_batch_size <= max_batch_size")
        if any(b < 1 or b > self.max_batch_size for b in self.batching.preferred_batch_sizes):
            raise SpecError(f"model {self.name!r}: preferred batch sizes must lie in 1..max_batch_size")

    def input(self, name: str) -> TensorSpec:
        return _find(self.inputs, name, self.name)

    def output(self, name: str) -> TensorSpec:
        return _find(self.outputs, name, self.name)

    def inputs_with(self, *roles: Role) -> tuple[TensorSpec, ...]:
        return tuple(t for t in self.inputs if t.role in roles)

    def outputs_with(self, *roles: Role) -> tuple[TensorSpec, ...]:
        return tuple(t for t in self.outputs if t.role in roles)

    def output_with(self, role: Role) -> TensorSpec:
        """The one output with ``role`` (a SpecError if there is not exactly one)."""
        return _one(self.outputs_with(role), role, self.name)

    def input_with(self, role: Role) -> TensorSpec:
        return _one(self.inputs_with(role), role, self.name)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.outputs)

    @property
    def bucketed_dim(self) -> "Dim | None":
        """The one dynamic axis with length buckets among the inputs (None: no such axis)."""
        dims = {d for t in self.inputs for d in t.dims if isinstance(d, Dim) and d.buckets}
        if len(dims) > 1:
            raise SpecError(f"model {self.name!r}: inputs have {len(dims)} bucketed axes; one is supported")
        return next(iter(dims), None)

    @property
    def profile_count(self) -> int:
        """Engine optimisation profiles: one per length bucket, else one."""
        d = self.bucketed_dim
        return len(d.bucket_ranges()) if d is not None else 1

    def profiles(self) -> dict[str, ShapeProfile]:
        """min/opt/max batched shapes for every input (TensorRT profiles, parity shapes)."""
        return {
            t.name: ShapeProfile(t.shape(1, "min"), t.shape(self.opt_batch_size, "opt"), t.shape(self.max_batch_size, "max"))
            for t in self.inputs
        }


@dataclass(frozen=True)
class EnsembleStep:
    """One step of the ensemble: which ensemble tensors feed a model and receive its outputs."""

    model: str
    input_map: Mapping[str, str]
    output_map: Mapping[str, str]


@dataclass(frozen=True)
class EnsembleSpec:
    """The ensemble model: raw inputs in, probabilities/label/embedding out."""

    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    max_batch_size: int
    steps: tuple[EnsembleStep, ...] = field(default_factory=tuple)
    # Published in config.pbtxt so clients learn names, limits and labels from the server.
    parameters: Mapping[str, str] = field(default_factory=dict)


def _one(tensors: tuple[TensorSpec, ...], role: Role, model: str) -> TensorSpec:
    if len(tensors) != 1:
        raise SpecError(f"model {model!r} has {len(tensors)} tensors with role {role.value!r}, not one")
    return tensors[0]


def _find(tensors: tuple[TensorSpec, ...], name: str, model: str) -> TensorSpec:
    for t in tensors:
        if t.name == name:
            return t
    raise SpecError(f"model {model!r} has no tensor {name!r}")
