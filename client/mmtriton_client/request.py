"""One request builder shared by the sync and async clients: validation before any network
call, InferInput construction, and result parsing."""

from __future__ import annotations

import struct
from typing import Any, Optional

import numpy as np

from mmtriton_client.errors import InvalidInputError
from mmtriton_client.inputs import audio_bytes, image_bytes
from mmtriton_client.model_info import MODALITIES, ModelInfo
from mmtriton_client.types import Classification, Prediction


def _image_pixels(data: bytes) -> Optional[int]:
    """Pixel count from a PNG/GIF/BMP header (cheap; JPEG/WebP are left to the server)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return w * h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w * h
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w * h)
    return None


def _wav_seconds(data: bytes) -> Optional[float]:
    """Duration of a PCM WAV from its header (other formats are left to the server)."""
    import io
    import wave

    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    try:
        with wave.open(io.BytesIO(data)) as w:
            return w.getnframes() / float(w.getframerate())
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def encode(image: Any = None, audio: Any = None, text: Optional[str] = None, **unknown: Any) -> dict:
    """Encode the user's inputs to bytes and refuse what is wrong whatever the server says."""
    if unknown:
        raise InvalidInputError(f"unknown modality {sorted(unknown)}; use image=, audio=, text=")
    data = {"image": image_bytes(image), "audio": audio_bytes(audio), "text": _text(text)}
    if all(v is None for v in data.values()):
        raise InvalidInputError("give at least one of image=, audio=, text=")
    for modality, value in data.items():
        if value is not None and (len(value) == 0 or (modality == "text" and not value.strip())):
            raise InvalidInputError(f"{modality} is empty")
    return data


def _text(text: Any) -> Optional[bytes]:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InvalidInputError(f"text must be str, not {type(text).__name__}")
    return text.encode("utf-8")


class RequestBuilder:
    def __init__(self, info: ModelInfo) -> None:
        self.info = info

    def payload(self, data: dict) -> dict:
        """Check encoded inputs against the limits the server publishes; raises before sending."""
        for modality, value in data.items():
            if value is not None:
                self._check(modality, value)
        return data

    def _check(self, modality: str, value: bytes) -> None:
        limit = self.info.limits.get(f"{modality}_bytes")
        if limit is not None and len(value) > limit:
            raise InvalidInputError(f"{modality} is {len(value)} bytes; the server accepts at most {int(limit)}")
        seconds = _wav_seconds(value) if modality == "audio" else None
        max_seconds = self.info.limits.get("audio_seconds")
        if seconds is not None and max_seconds is not None and seconds > max_seconds:
            raise InvalidInputError(f"audio is {seconds:.2f} s long; the server accepts at most {max_seconds:g} s")
        max_chars = self.info.limits.get("text_chars")
        if modality == "text" and max_chars is not None:
            chars = len(value.decode("utf-8", errors="replace"))
            if chars > max_chars:
                raise InvalidInputError(f"text is {chars} characters; the server accepts at most {int(max_chars)}")
        pixels = _image_pixels(value) if modality == "image" else None
        max_pixels = self.info.limits.get("image_pixels")
        if pixels is not None and max_pixels is not None and pixels > max_pixels:
            raise InvalidInputError(f"image has {pixels} pixels; the server accepts at most {int(max_pixels)}")

    def inputs(self, module: Any, data: dict) -> list:
        """tritonclient InferInput objects (``module`` is tritonclient.grpc or .http)."""
        out = []
        for modality in MODALITIES:
            if data[modality] is not None:
                inp = module.InferInput(self.info.inputs[modality], [1, 1], "BYTES")
                inp.set_data_from_numpy(np.array([[data[modality]]], dtype=object))
                out.append(inp)
        return out

    def outputs(self, module: Any, top_k: Optional[int]) -> Optional[list]:
        """None asks for every output (KServe v2's default). With ``top_k`` the probabilities come
        back ranked by the server (Triton's classification extension, ``class_count``)."""
        if top_k is None:
            return None
        if not 1 <= top_k <= len(self.info.class_names):
            raise InvalidInputError(f"top_k must be between 1 and {len(self.info.class_names)}, not {top_k}")
        probs = self.info.output("probabilities")
        return [module.InferRequestedOutput(name, class_count=top_k if name == probs else 0)
                for name in self.info.outputs.values()]

    def parse(self, result: Any, data: dict, latency_ms: Optional[float] = None,
              top_k: Optional[int] = None) -> Prediction:
        info = self.info
        probs = result.as_numpy(info.output("probabilities"))[0]
        index = int(result.as_numpy(info.output("label"))[0, 0])
        embeddings = {m: result.as_numpy(info.outputs[f"{m}_embedding"])[0] for m in MODALITIES
                      if data.get(m) is not None and f"{m}_embedding" in info.outputs}
        ranked = tuple(Classification.parse(e) for e in probs.reshape(-1)) if top_k else ()
        return Prediction(
            label=info.class_names[index], label_index=index, class_names=info.class_names,
            probabilities=None if top_k else probs, fused_embedding=result.as_numpy(info.output("fused_embedding"))[0],
            modalities=tuple(m for m in MODALITIES if data.get(m) is not None), embeddings=embeddings,
            latency_ms=latency_ms, ranked=ranked)
