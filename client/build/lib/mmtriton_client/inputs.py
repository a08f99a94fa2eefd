"""Turn what users have (paths, bytes, file objects, PIL images, numpy audio) into bytes."""

from __future__ import annotations

import io
import os
import wave
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from mmtriton_client.errors import InvalidInputError

ImageLike = Union[str, os.PathLike, bytes, bytearray, Any]
AudioLike = Union[str, os.PathLike, bytes, bytearray, tuple]


def _read(obj: Any, what: str) -> Optional[bytes]:
    if obj is None:
        return None
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj)
    if isinstance(obj, (str, os.PathLike)):
        path = Path(obj)
        if not path.is_file():
            raise InvalidInputError(f"{what}: no such file {path}")
        return path.read_bytes()
    if hasattr(obj, "read"):
        return obj.read()
    return None


def image_bytes(image: ImageLike) -> Optional[bytes]:
    """A path, bytes, a binary file object or a PIL image -> encoded image bytes."""
    data = _read(image, "image")
    if data is not None or image is None:
        return data
    if hasattr(image, "save") and hasattr(image, "mode"):  # PIL.Image without importing Pillow
        buf = io.BytesIO()
        image.save(buf, format="PNG")
        return buf.getvalue()
    raise InvalidInputError(f"image must be a path, bytes, a file object or a PIL image, not {type(image).__name__}")


def audio_bytes(audio: AudioLike) -> Optional[bytes]:
    """A path, bytes, a file object or a (samples, rate) pair -> encoded audio bytes (WAV for arrays)."""
    if isinstance(audio, tuple):
        if len(audio) != 2:
            raise InvalidInputError("audio as a tuple must be (samples, sample_rate)")
        return wav_bytes(np.asarray(audio[0]), int(audio[1]))
    data = _read(audio, "audio")
    if data is None and audio is not None:
        raise InvalidInputError(f"audio must be a path, bytes, a file object or (samples, rate), not {type(audio).__name__}")
    return data


def to_int16(data: np.ndarray) -> np.ndarray:
    """Float in [-1, 1] or any integer PCM -> int16, scaled (never wrapped)."""
    if data.dtype.kind == "f":
        return (np.clip(data, -1.0, 1.0) * 32767.0).astype(np.int16)
    if data.dtype == np.int16:
        return data
    if data.dtype.kind == "i":
        return (data.astype(np.int64) >> (8 * data.dtype.itemsize - 16)).astype(np.int16)
    if data.dtype == np.uint8:
        return ((data.astype(np.int16) - 128) << 8).astype(np.int16)
    raise InvalidInputError(f"audio samples of dtype {data.dtype} are not supported (use float or integer PCM)")


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Mono or [n, channels] float/int samples -> 16-bit PCM WAV (stdlib only)."""
    if samples.ndim not in (1, 2) or samples.size == 0:
        raise InvalidInputError("audio samples must be a non-empty 1-D or [n, channels] array")
    if rate < 1000:
        raise InvalidInputError(f"sample rate {rate} is not plausible")
    data = samples if samples.ndim == 2 else samples[:, None]
    pcm = to_int16(data)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
