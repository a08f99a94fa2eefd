"""The Python-backend models of the repository; each ``model.py`` re-exports one of these.

Preprocessing models receive every raw input (all optional) and decode only their own: a
missing modality yields a placeholder plus ``*_present = 0``, and the other inputs give the
request's batch size.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import Any

import numpy as np

from mmtriton.errors import InvalidInputError
from mmtriton.preprocess import LogMel, pad_frames, preprocess_audio, preprocess_image
from mmtriton.preprocess.tensors import placeholders, present_tensors
from mmtriton.preprocess.text import TextTokenizer, check_text
from mmtriton.serving.base import Arrays, BaseModel, pb_utils
from mmtriton.spec.tensors import Role
from mmtriton.preprocess.batching import bytes_rows, pad_axis1, pad_length, split_rows
from mmtriton.spec.serving import BUCKETS_PARAMETER

log = logging.getLogger(__name__)


class _Preprocess(BaseModel):
    """Decodes its own modality. A bad input never becomes an error response here: it becomes
    a placeholder plus an ``<modality>_error`` message, and the postprocess model (the last step)
    fails the request once every step is done. Triton 2.51 wedged the whole ensemble when a
    step failed while sibling steps of the same request were still running."""

    modality = ""
    reject_cancelled = False

    @cached_property
    def bucketed(self) -> bool:
        """Pad to the spec's length buckets (the config's ``length_buckets``: engines batch only
        equal shapes); otherwise to the request's own longest input."""
        return self.params.get(BUCKETS_PARAMETER, "false") == "true"

    @cached_property
    def own(self) -> str:
        """The ensemble input this step decodes (the other raw inputs only give the batch size);
        looked up once, not on every request."""
        return self.graph.raw(self.modality).name

    def batch_size(self, request: Any) -> int:
        for t in self.spec.inputs:
            if t.name == self.own:
                continue
            tensor = pb_utils().get_input_tensor_by_name(request, t.name)
            if tensor is not None:
                return int(tensor.shape()[0])
        return 1

    def read(self, request: Any) -> Arrays:
        own = self.own
        arr = self.input_array(request, own)
        if arr is None:
            return self.with_error(self.absent(self.batch_size(request)), "")
        rows = bytes_rows(arr, own)
        try:
            return self.decode_rows(own, rows)
        except InvalidInputError as e:
            return self.with_error(self.absent(len(rows)), str(e))
        except Exception:  # noqa: BLE001 - a decoder bug must not fail this step (see class docstring)
            log.exception("%s: unexpected error decoding %s", self.spec.name, own)
            return self.with_error(self.absent(len(rows)), f"{own}: could not be decoded (internal error, see server log)")

    def decode_rows(self, own: str, rows: list[bytes]) -> Arrays:
        decoded = []
        for i, row in enumerate(rows):
            try:
                decoded.append(self.decode(row))
            except InvalidInputError as e:
                where = own if len(rows) == 1 else f"{own}[{i}]"
                raise InvalidInputError(f"{where}: {e}") from e
        return self.present(decoded)

    def with_error(self, arrays: Arrays, message: str) -> Arrays:
        batch = int(next(iter(arrays.values())).shape[0])
        arrays[self.graph.error(self.modality).name] = np.array([[message.encode("utf-8")]] * batch, dtype=object)
        return arrays

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def present(self, decoded: list) -> Arrays:
        raise NotImplementedError

    def absent(self, batch: int) -> Arrays:
        return placeholders(self.graph, self.modality, batch)


class ImagePreprocess(_Preprocess):
    modality = "image"

    def decode(self, data: bytes) -> np.ndarray:
        return preprocess_image(data, self.graph.preset.image)

    def present(self, decoded: list) -> Arrays:
        return self.with_error(present_tensors(self.graph, self.modality, (np.stack(decoded),)), "")


class AudioPreprocess(_Preprocess):
    modality = "audio"

    def setup(self) -> None:
        self.log_mel = LogMel(self.graph.preset.audio)

    def decode(self, data: bytes) -> np.ndarray:
        return preprocess_audio(data, self.graph.preset.audio, self.log_mel)

    def present(self, decoded: list) -> Arrays:
        mel, lengths = pad_frames(decoded)
        if self.bucketed:
            mel = pad_length(mel, self.graph.frames.bucket(mel.shape[1]))
        return self.with_error(present_tensors(self.graph, self.modality, (mel, lengths)), "")


class TextPreprocess(_Preprocess):
    """Validation per request in ``read``; one tokeniser call for the whole batch in ``compute``."""

    modality = "text"

    def setup(self) -> None:
        ids, mask = self.graph.token_inputs
        self.tokenizer = TextTokenizer(self.version_dir / "tokenizer.json", self.graph.preset.text, ids.dtype, mask.dtype)

    def decode(self, data: bytes) -> str:
        return check_text(data, self.graph.preset.text)

    def present(self, decoded: list) -> Arrays:
        return {"texts": np.asarray(decoded, dtype=object)}

    def compute(self, items: list[Arrays]) -> list[Arrays]:
        try:
            return self._tokenize_all(items)
        except Exception:  # noqa: BLE001 - never fail a preprocessing step; report per request instead
            log.exception("%s: tokenisation failed", self.spec.name)
            own = self.own
            return [self.with_error(self.absent(len(item["texts"])), f"{own}: could not be tokenised "
                                    "(internal error, see server log)") if "texts" in item else item
                    for item in items]

    def _tokenize_all(self, items: list[Arrays]) -> list[Arrays]:
        texts = [t for item in items if "texts" in item for t in item["texts"]]
        if not texts:
            return items
        ids, mask = self.tokenizer(texts)
        counts = [len(item["texts"]) for item in items if "texts" in item]
        chunks = iter(zip(split_rows(ids, counts), split_rows(mask, counts)))
        return [self._fill(item, chunks) if "texts" in item else item for item in items]

    def _fill(self, item: Arrays, chunks) -> Arrays:
        ids, mask = next(chunks)
        keep = int(mask.sum(axis=1).max())  # trim the batch-wide padding back to this request's own
        if self.bucketed:
            keep = self.graph.tokens.bucket(keep)
        ids = pad_length(ids[:, :keep], keep, self.tokenizer.pad_id)
        return self.with_error(present_tensors(self.graph, self.modality, (ids, pad_length(mask[:, :keep], keep))), "")


class Postprocess(BaseModel):
    """The last step: the label from the probabilities, or the request's input error; it also
    publishes every other output (copies of what fusion and the encoders made), so that a client
    may ask for any subset of outputs (``spec.graph._check_prunable`` says why).

    Failing here is safe because every other step of the request has finished."""

    def read(self, request: Any) -> Arrays:
        self._raise_input_errors(request)
        arrays = {}
        for internal, public in self.published.items():
            value = self.input_array(request, internal)
            if value is None:
                raise InvalidInputError(f"{self.spec.name}: missing {internal}")
            arrays[public] = value
        label, probs = self.label
        arrays[label.name] = arrays[probs].argmax(axis=1).astype(label.dtype.numpy)[:, None]
        return arrays

    @cached_property
    def published(self) -> dict[str, str]:
        """Looked up once, not on every request."""
        return self.graph.published

    @cached_property
    def label(self) -> tuple:
        """(label output, name of the probabilities it is the argmax of), looked up once."""
        return self.spec.output_with(Role.LABEL), self.graph.probabilities.name

    def _raise_input_errors(self, request: Any) -> None:
        messages = []
        for spec in self.spec.inputs_with(Role.ERROR):
            errors = self.input_array(request, spec.name)
            if errors is not None:
                messages += [m.decode("utf-8", "replace") for m in errors.reshape(-1) if m]
        if messages:
            raise InvalidInputError("; ".join(messages))


class OnnxModel(BaseModel):
    """An encoder or the fusion model run by ONNX Runtime inside the Python backend (embedded target)."""

    def setup(self) -> None:
        from mmtriton.runtime import ort_session

        self.session = ort_session(self.version_dir / "model.onnx", int(self.params.get("intra_op_threads", "1")))

    def read(self, request: Any) -> Arrays:
        arrays = {t.name: self.input_array(request, t.name) for t in self.spec.inputs}
        missing = [n for n, a in arrays.items() if a is None]
        if missing:
            raise InvalidInputError(f"{self.spec.name}: missing input(s) {missing}")
        return arrays

    def compute(self, items: list[Arrays]) -> list[Arrays]:
        counts = [int(next(iter(item.values())).shape[0]) for item in items]  # every input has the batch axis
        feeds = {t.name: pad_axis1([item[t.name] for item in items]) if t.ragged
                 else np.concatenate([item[t.name] for item in items]) for t in self.spec.inputs}
        outputs = self.session.run(list(self.spec.output_names), feeds)
        per_output = [split_rows(o, counts) for o in outputs]
        return [{n: per_output[j][i] for j, n in enumerate(self.spec.output_names)} for i in range(len(items))]
