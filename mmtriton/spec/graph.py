"""The serving graph for a preset: every model, tensor name, dtype and shape, spelled once.

Everything else (export, config generation, client, tests) reads these objects; no other module
writes a tensor name as a string literal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

from mmtriton.errors import SpecError
from mmtriton.spec.dtypes import DType
from mmtriton.spec.modality import MODALITIES
from mmtriton.spec.presets import CLASS_NAMES, Preset, get_preset
from mmtriton.spec.serving import CLASSES_PARAMETER, load_serving_defaults, target_overrides
from mmtriton.spec.tensors import BatchingSpec, Dim, EnsembleSpec, EnsembleStep, ModelSpec, Role, TensorSpec

# Dynamic batching, queue policy and instances per model (written into every config.pbtxt);
# tuned on the target machine by `mmtriton bench --full`, which rewrites the JSON file.
SERVING_DEFAULTS: dict[str, BatchingSpec] = load_serving_defaults()


@dataclass(frozen=True)
class ModelGraph:
    """All models of one preset, by role."""

    preset: Preset
    image_preprocess: ModelSpec
    audio_preprocess: ModelSpec
    text_preprocess: ModelSpec
    image_encoder: ModelSpec
    audio_encoder: ModelSpec
    text_encoder: ModelSpec
    fusion: ModelSpec
    postprocess: ModelSpec
    ensemble: EnsembleSpec
    tensor_ensemble: EnsembleSpec
    class_names: tuple[str, ...] = CLASS_NAMES

    def with_classes(self, class_names: tuple[str, ...] | list[str] | None) -> "ModelGraph":
        """The graph for a model trained on ``class_names`` (the checkpoint's, i.e. the data
        set's): the probabilities shape, the ensemble's ``class_names`` and labels.txt follow."""
        if class_names is None or tuple(class_names) == self.class_names:
            return self
        return get_graph(self.preset.name, tuple(class_names))

    @property
    def ensembles(self) -> tuple[EnsembleSpec, ...]:
        return (self.ensemble, self.tensor_ensemble)

    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return (self.image_preprocess, self.audio_preprocess, self.text_preprocess,
                self.image_encoder, self.audio_encoder, self.text_encoder, self.fusion, self.postprocess)

    @property
    def python_models(self) -> tuple[ModelSpec, ...]:
        """Models that run in the Python backend whatever the target."""
        return (self.image_preprocess, self.audio_preprocess, self.text_preprocess, self.postprocess)

    @property
    def preprocessing_models(self) -> tuple[ModelSpec, ...]:
        return (self.image_preprocess, self.audio_preprocess, self.text_preprocess)

    @property
    def encoders(self) -> tuple[ModelSpec, ...]:
        return (self.image_encoder, self.audio_encoder, self.text_encoder)

    @property
    def exported(self) -> tuple[ModelSpec, ...]:
        """The models exported to ONNX / built as engines, in execution order: encoders, fusion."""
        return self.encoders + (self.fusion,)

    def preprocess(self, modality: str) -> ModelSpec:
        return {"image": self.image_preprocess, "audio": self.audio_preprocess, "text": self.text_preprocess}[modality]

    def encoder(self, modality: str) -> ModelSpec:
        return {"image": self.image_encoder, "audio": self.audio_encoder, "text": self.text_encoder}[modality]

    def raw(self, modality: str) -> TensorSpec:
        """The ensemble input that carries ``modality`` (its published ``input.<modality>``)."""
        return next(t for t in self.ensemble.inputs if t.name == self.ensemble.parameters[f"input.{modality}"])

    def features(self, modality: str) -> tuple[TensorSpec, ...]:
        """What a preprocessing model feeds its encoder (features, lengths, masks)."""
        return self.preprocess(modality).outputs_with(Role.FEATURES, Role.LENGTH, Role.MASK)

    def present(self, modality: str) -> TensorSpec:
        return self.preprocess(modality).output_with(Role.PRESENT)

    def error(self, modality: str) -> TensorSpec:
        return self.preprocess(modality).output_with(Role.ERROR)

    def embedding(self, modality: str) -> TensorSpec:
        return self.encoder(modality).output_with(Role.EMBEDDING)

    @property
    def probabilities(self) -> TensorSpec:
        return self.fusion.output_with(Role.PROBABILITIES)

    @property
    def label(self) -> TensorSpec:
        return self.postprocess.output_with(Role.LABEL)

    @property
    def published(self) -> dict[str, str]:
        """Postprocess input (ensemble-internal name) -> the public output it is published as."""
        return {t.name: t.name[len(INTERNAL_PREFIX):] for t in self.postprocess.inputs
                if t.name.startswith(INTERNAL_PREFIX)}

    @property
    def frames(self) -> Dim:
        """The log-mel frames axis (min/opt/max frames and length buckets the audio encoder takes)."""
        return _padded_axis(self.audio_encoder)

    @property
    def tokens(self) -> Dim:
        """The token axis (min/opt/max and length buckets of the text encoder's inputs)."""
        return _padded_axis(self.text_encoder)

    @property
    def token_inputs(self) -> tuple[TensorSpec, TensorSpec]:
        """(token ids, attention mask): the text encoder's inputs in the tokenizer's order."""
        return self.text_encoder.input_with(Role.FEATURES), self.text_encoder.input_with(Role.MASK)

    def with_batching(self, overrides: dict[str, BatchingSpec]) -> "ModelGraph":
        """The same graph with other serving policies (tuning sweeps, the no-batching baseline)."""
        roles = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                 if isinstance(getattr(self, f.name), ModelSpec)}
        unknown = set(overrides) - {m.name for m in roles.values()}
        if unknown:
            raise SpecError(f"no model(s) named {sorted(unknown)} in preset {self.preset.name!r}")
        changed = {role: dataclasses.replace(m, batching=overrides[m.name])
                   for role, m in roles.items() if m.name in overrides}
        return dataclasses.replace(self, **changed)

    def for_target(self, target: str) -> "ModelGraph":
        """The graph with the serving policy of a deployment target (GPU engines batch; the
        CPU-tuned defaults may not): the configs and the engine profiles both read it."""
        overrides = target_overrides(target)
        return self.with_batching(overrides) if overrides else self

    def producers(self, name: str) -> tuple[ModelSpec, ...]:
        """The models whose outputs feed model ``name`` in the ensemble (its upstream steps)."""
        steps = self.ensemble.steps
        wanted = {t for s in steps if s.model == name for t in s.input_map.values()}
        return tuple(self.model(s.model) for s in steps if wanted & set(s.output_map.values()))

    def model(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        raise SpecError(f"no model named {name!r} in preset {self.preset.name!r}")


def _padded_axis(encoder: ModelSpec) -> Dim:
    return next(d for d in encoder.input_with(Role.FEATURES).dims if isinstance(d, Dim))


def _dims(p: Preset) -> tuple[Dim, Dim]:
    a, t = p.audio, p.text
    frames = Dim("frames", a.frames(a.min_seconds), a.frames(min(1.0, a.max_seconds)), a.frames(a.max_seconds),
                 tuple(a.frames(s) for s in a.bucket_seconds))
    tokens = Dim("tokens", 1, min(16, t.max_tokens), t.max_tokens, t.buckets)
    return frames, tokens


def check_class_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """At least two distinct, non-empty names that survive the wire formats they travel in: the
    ensemble's comma-separated ``class_names`` parameter and the one-per-line labels.txt."""
    if len(names) < 2:
        raise SpecError(f"a classifier needs at least 2 classes, not {len(names)}")
    bad = [n for n in names if not n.strip() or n != n.strip() or any(c in n for c in ",\n\r\t")]
    if bad:
        raise SpecError(f"class names must be non-empty, without commas, tabs, line breaks or outer spaces: {bad[:5]}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"class names must be unique: {dupes[:5]}")
    return names


def _build(p: Preset, class_names: tuple[str, ...] = CLASS_NAMES) -> ModelGraph:
    class_names = check_class_names(class_names)
    frames, tokens = _dims(p)
    b, ob = p.max_batch_size, p.opt_batch_size
    pixels = TensorSpec("pixel_values", DType.FP32, (3, p.image.size, p.image.size))
    log_mel = TensorSpec("log_mel", DType.FP32, (frames, p.audio.n_mels), ragged=True)
    mel_len = TensorSpec("mel_length", DType.INT32, (1,), role=Role.LENGTH)
    ids = TensorSpec("input_ids", DType.INT32, (tokens,), ragged=True)
    mask = TensorSpec("attention_mask", DType.INT32, (tokens,), ragged=True, role=Role.MASK)
    present = {m: TensorSpec(f"{m}_present", DType.FP32, (1,), role=Role.PRESENT) for m in MODALITIES}
    error = {m: TensorSpec(f"{m}_error", DType.BYTES, (1,), optional=True, role=Role.ERROR) for m in MODALITIES}
    emb = {m: TensorSpec(f"{m}_embedding", DType.FP32, (p.embed_dim,), role=Role.EMBEDDING) for m in MODALITIES}
    raw = {m: TensorSpec(n, DType.BYTES, (1,), optional=True, role=Role.RAW)
           for m, n in (("image", "image_bytes"), ("audio", "audio_bytes"), ("text", "text"))}
    raw_all = tuple(raw.values())
    probs = TensorSpec("probabilities", DType.FP32, (len(class_names),), role=Role.PROBABILITIES)
    label = TensorSpec("label", DType.INT32, (1,), role=Role.LABEL)
    fused = TensorSpec("fused_embedding", DType.FP32, (p.fused_dim,), role=Role.FUSED)

    def model(name: str, ins: tuple, outs: tuple, desc: str) -> ModelSpec:
        return ModelSpec(name, ins, outs, b, ob, desc, SERVING_DEFAULTS.get(name, BatchingSpec()))

    fusion_inputs = (emb["image"], emb["audio"], emb["text"], present["image"], present["audio"], present["text"])
    outputs = (probs, label, fused, emb["image"], emb["audio"], emb["text"])
    # Every output, fused_embedding too, comes from postprocess: an output from another step would
    # let a client that asks only for it prune postprocess, and with it the input-error report.
    passed = tuple(t for t in outputs if t is not label)
    internal = {t.name: dataclasses.replace(t, name=INTERNAL_PREFIX + t.name) for t in passed}
    g = dict(
        image_preprocess=model("image_preprocess", _own_first(raw_all, raw["image"]), (pixels, present["image"], error["image"]),
                               "Pillow decode, resize, centre crop, normalise"),
        audio_preprocess=model("audio_preprocess", _own_first(raw_all, raw["audio"]), (log_mel, mel_len, present["audio"], error["audio"]),
                               "libsndfile decode, mono, soxr resample, log-mel"),
        text_preprocess=model("text_preprocess", _own_first(raw_all, raw["text"]), (ids, mask, present["text"], error["text"]),
                              "WordPiece tokenisation with truncation"),
        image_encoder=model("image_encoder", (pixels,), (emb["image"],), "stroke CNN on an ink map (+ EfficientNet-Lite0 for own data) + projection"),
        audio_encoder=model("audio_encoder", (log_mel, mel_len), (emb["audio"],), "frozen speech embedding (+ masked conv Transformer for own data) over log-mel"),
        text_encoder=model("text_encoder", (ids, mask), (emb["text"],), "MiniLM-L6 mean pooling + projection"),
        fusion=model("fusion", fusion_inputs, (probs, fused), "concat + MLP with presence flags"),
        postprocess=model("postprocess", tuple(internal.values()) + (error["image"], error["audio"], error["text"]),
                          outputs, "label from probabilities, every published output; reports input errors "
                          "once every step is done"),
    )
    rename = {public: t.name for public, t in internal.items()}
    tensor_inputs = (pixels, log_mel, mel_len, ids, mask, present["image"], present["audio"], present["text"])
    ensemble = EnsembleSpec("multimodal", tuple(raw.values()), outputs, b, _steps(g, PIPELINE, rename),
                            _client_parameters(p, raw, outputs, "multimodal_tensors", class_names))
    tensors = EnsembleSpec("multimodal_tensors", tensor_inputs, outputs, b,
                           _steps(g, PIPELINE[3:], rename, skip_roles=(Role.ERROR,)), {"preset": p.name})
    graph = ModelGraph(preset=p, ensemble=ensemble, tensor_ensemble=tensors, class_names=class_names, **g)
    for ens in graph.ensembles:
        validate_ensemble(graph, ens)
    return graph


def _client_parameters(p: Preset, raw: dict[str, TensorSpec], outputs: tuple[TensorSpec, ...],
                       tensor_model: str, class_names: tuple[str, ...]) -> dict[str, str]:
    """What a thin client needs to know without importing this package: which input carries
    which modality, the output names, the size limits it should check before sending, and
    the class names."""
    params = {f"input.{m}": t.name for m, t in raw.items()}
    roles = ("probabilities", "label", "fused_embedding", "image_embedding", "audio_embedding", "text_embedding")
    params.update({f"output.{role}": t.name for role, t in zip(roles, outputs)})  # role keys are the contract
    params.update({
        "limit.image_bytes": str(p.image.max_bytes), "limit.image_pixels": str(p.image.max_pixels),
        "limit.audio_bytes": str(p.audio.max_bytes), "limit.audio_seconds": f"{p.audio.max_input_seconds:g}",
        "audio.window_seconds": f"{p.audio.max_seconds:g}",
        "limit.text_bytes": str(p.text.max_bytes), "limit.text_chars": str(p.text.max_chars),
        "limit.text_tokens": str(p.text.max_tokens), CLASSES_PARAMETER: ",".join(class_names),
        "preset": p.name, "tensor_model": tensor_model,
    })
    return params


def _own_first(raw: tuple[TensorSpec, ...], own: TensorSpec) -> tuple[TensorSpec, ...]:
    """Every preprocessing model sees all raw inputs (all optional) but decodes only its own.

    Triton rejects a composing-model request with zero inputs, so each preprocessing model
    must see at least one present input; model_repository/README.md has the measurements.
    """
    return (own,) + tuple(t for t in raw if t is not own)


# Ensemble-internal names of the tensors the last step publishes under their public names.
INTERNAL_PREFIX = "internal_"

PIPELINE = ("image_preprocess", "audio_preprocess", "text_preprocess",
            "image_encoder", "audio_encoder", "text_encoder", "fusion", "postprocess")
LAST = PIPELINE[-1]


def _step(m: ModelSpec, rename: dict[str, str], skip_roles: tuple[Role, ...] = ()) -> EnsembleStep:
    """A step whose tensors keep their model-side names in the ensemble, except the ones the last
    step publishes: inside the ensemble those travel under ``rename``'s internal names."""
    inputs = {t.name: rename.get(t.name, t.name) for t in m.inputs if t.role not in skip_roles}
    return EnsembleStep(m.name, inputs, {n: rename.get(n, n) for n in m.output_names})


def _steps(g: dict[str, ModelSpec], order: tuple[str, ...], rename: dict[str, str],
           skip_roles: tuple[Role, ...] = ()) -> tuple[EnsembleStep, ...]:
    """The last step's tensors are already spelled internal (inputs) and public (outputs)."""
    return tuple(_step(g[name], {} if name == LAST else rename, skip_roles) for name in order)


def validate_ensemble(graph: ModelGraph, ensemble: EnsembleSpec | None = None) -> None:
    """Every step maps real tensors, and every tensor it reads was produced earlier."""
    ens = ensemble or graph.ensemble
    available = {t.name: t for t in ens.inputs}
    for step in ens.steps:
        m = graph.model(step.model)
        for model_name, ens_name in step.input_map.items():
            spec = m.input(model_name)
            if ens_name not in available:
                raise SpecError(f"ensemble step {m.name!r} reads {ens_name!r} before any step produces it")
            if available[ens_name].dtype != spec.dtype or available[ens_name].config_dims != spec.config_dims:
                raise SpecError(f"ensemble step {m.name!r}: {ens_name!r} does not match input {model_name!r}")
        for model_name, ens_name in step.output_map.items():
            available[ens_name] = m.output(model_name)
    for out in ens.outputs:
        if out.name not in available:
            raise SpecError(f"ensemble output {out.name!r} is produced by no step")
    _check_prunable(ens)


def _check_prunable(ens: EnsembleSpec) -> None:
    """No step may read a tensor that is also an ensemble output.

    Triton's ensemble scheduler (2.51 and every release since, read from its source) prunes a
    step once none of its outputs is requested, counting every *unrequested ensemble output* as
    unneeded even when a later step reads it. A client asking for ``label`` alone then prunes
    fusion and the encoders and gets "unexpected deadlock". Publishing every output from the
    last step, under names no step reads, makes any subset of outputs safe."""
    public = {t.name for t in ens.outputs}
    for step in ens.steps:
        read = public & set(step.input_map.values())
        if read:
            raise SpecError(f"ensemble {ens.name!r}: step {step.model!r} reads published output(s) {sorted(read)}; "
                            "a client requesting a subset of outputs would prune its producer")


@lru_cache(maxsize=None)
def get_graph(preset: str = "demo", class_names: tuple[str, ...] | None = None) -> ModelGraph:
    """The (cached) graph of a preset by name; ``class_names`` are a trained model's classes
    (default: the reference model's ten digit words)."""
    return _build(get_preset(preset), CLASS_NAMES if class_names is None else tuple(class_names))
