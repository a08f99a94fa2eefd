"""The Python-backend models of the repository; each ``model.py`` re-exports one of these.

Preprocessing models receive every raw input (all optional) and decode only their own: a
missing modality yields a placeholder plus ``*_present = 0``, and the other inputs give the
request's batch size.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mmtriton.errors import InvalidInputError
from mmtriton.preprocess import LogMel, pad_frames, preprocess_audio, preprocess_image
from mmtriton.preprocess.text import TextTokenizer, check_text
from mmtriton.serving.base import Arrays, BaseModel
from mmtriton.serving.batching import bytes_rows, pad_axis1, split_rows


class _Preprocess(BaseModel):
    def batch_size(self, request: Any) -> int:
        for t in self.spec.inputs[1:]:
            arr = self.input_array(request, t.name)
            if arr is not None:
                return int(arr.shape[0])
        names = ", ".join(self.spec.input_names)
        raise InvalidInputError(f"a request needs at least one of: {names}")

    def read(self, request: Any) -> Arrays:
        own = self.spec.inputs[0].name
        arr = self.input_array(request, own)
        if arr is None:
            return self.absent(self.batch_size(request))
        rows = bytes_rows(arr, own)
        return self.decode_rows(own, rows)

    def decode_rows(self, own: str, rows: list[bytes]) -> Arrays:
        decoded = []
        for i, row in enumerate(rows):
            try:
                decoded.append(self.decode(row))
            except InvalidInputError as e:
                where = own if len(rows) == 1 else f"{own}[{i}]"
                raise InvalidInputError(f"{where}: {e}") from e
        return self.present(decoded)

    def flags(self, batch: int, value: float) -> np.ndarray:
        return np.full((batch, 1), value, dtype=self.spec.outputs[-1].dtype.numpy)

    def decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def present(self, decoded: list) -> Arrays:
        raise NotImplementedError

    def absent(self, batch: int) -> Arrays:
        raise NotImplementedError


class ImagePreprocess(_Preprocess):
    def decode(self, data: bytes) -> np.ndarray:
        return preprocess_image(data, self.graph.preset.image)

    def present(self, decoded: list) -> Arrays:
        pixels, flag = self.spec.output_names
        return {pixels: np.stack(decoded), flag: self.flags(len(decoded), 1.0)}

    def absent(self, batch: int) -> Arrays:
        pixels, flag = self.spec.outputs
        return {pixels.name: np.zeros(pixels.shape(batch), pixels.dtype.numpy), flag.name: self.flags(batch, 0.0)}


class AudioPreprocess(_Preprocess):
    def setup(self) -> None:
        self.log_mel = LogMel(self.graph.preset.audio)

    def decode(self, data: bytes) -> np.ndarray:
        return preprocess_audio(data, self.graph.preset.audio, self.log_mel)

    def present(self, decoded: list) -> Arrays:
        mel, lengths, flag = self.spec.output_names
        batch, lens = pad_frames(decoded)
        return {mel: batch, lengths: lens, flag: self.flags(len(decoded), 1.0)}

    def absent(self, batch: int) -> Arrays:
        mel, lengths, flag = self.spec.outputs
        shape = mel.shape(batch, "min")
        return {mel.name: np.zeros(shape, mel.dtype.numpy),
                lengths.name: np.full((batch, 1), shape[1], lengths.dtype.numpy), flag.name: self.flags(batch, 0.0)}


class TextPreprocess(_Preprocess):
    """Validation per request in ``read``; one tokeniser call for the whole batch in ``compute``."""

    def setup(self) -> None:
        ids, mask = self.graph.text_encoder.inputs
        self.tokenizer = TextTokenizer(self.version_dir / "tokenizer.json", self.graph.preset.text, ids.dtype, mask.dtype)

    def decode(self, data: bytes) -> str:
        return check_text(data, self.graph.preset.text)

    def present(self, decoded: list) -> Arrays:
        return {"texts": np.asarray(decoded, dtype=object)}

    def absent(self, batch: int) -> Arrays:
        ids, mask, flag = self.spec.outputs
        return {ids.name: np.zeros((batch, 1), ids.dtype.numpy), mask.name: np.ones((batch, 1), mask.dtype.numpy),
                flag.name: self.flags(batch, 0.0)}

    def compute(self, items: list[Arrays]) -> list[Arrays]:
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
        names = self.spec.output_names
        return {names[0]: ids[:, :keep], names[1]: mask[:, :keep], names[2]: self.flags(ids.shape[0], 1.0)}


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
        counts = [int(item[self.spec.inputs[0].name].shape[0]) for item in items]
        feeds = {t.name: pad_axis1([item[t.name] for item in items]) if t.ragged
                 else np.concatenate([item[t.name] for item in items]) for t in self.spec.inputs}
        outputs = self.session.run(list(self.spec.output_names), feeds)
        per_output = [split_rows(o, counts) for o in outputs]
        return [{n: per_output[j][i] for j, n in enumerate(self.spec.output_names)} for i in range(len(items))]
