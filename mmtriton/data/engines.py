"""Speech synthesisers: espeak-ng (formant), flite and festival (diphone and HTS) from Debian,
and one neural Piper voice from PyPI (``piper``). Four engines sound more unlike each other than
any two voices of one engine, which is what teaches the audio tower that a word is not one
synthesiser's timbre.

A voice is ``engine:name``; a bare name is an espeak-ng voice (the manifests before engines
existed). flite and festival take no pitch or rate here: the channel simulation changes speed
and pitch for every engine alike. Their utterances are cached per process, since a voice says
a word the same way every time and festival takes a quarter of a second to start.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from mmtriton.data import piper
from mmtriton.errors import DataGenerationError

FLITE_VOICES = ("kal", "kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
HELD_OUT = ("flite:rms", "festival:ked_diphone")
# The one neural voice is a training voice: it is the nearest to a person the registries ship,
# and holding it out would only measure it. Held-out synthetic voices and real recordings
# (training.real_eval) measure the rest.
ENGINE_WEIGHTS = {"espeak": 0.4, "flite": 0.25, "festival": 0.15, "piper": 0.2}
_PACKAGES = {"espeak-ng": "espeak-ng", "flite": "flite", "text2wave": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"}


def engine_of(voice: str) -> str:
    return voice.split(":", 1)[0] if ":" in voice else "espeak"


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DataGenerationError(f"{name} is not installed (apt-get install {_PACKAGES[name]})")
    return path


def _run(cmd: list[str], voice: str, stdin: bytes | None = None) -> tuple[np.ndarray, int]:
    """Run a synthesiser that writes a WAV file where ``{out}`` stands in ``cmd`` (or to stdout)."""
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="mmtriton-tts-") as tmp:
        out = Path(tmp) / "say.wav"
        proc = subprocess.run([c.replace("{out}", str(out)) for c in cmd], input=stdin, capture_output=True,
                              check=False, timeout=60)
        data = out.read_bytes() if out.exists() else proc.stdout
    if proc.returncode != 0 or len(data) < 100:
        raise DataGenerationError(f"speech synthesis failed for voice {voice!r}: {proc.stderr.decode(errors='replace')[:300]}")
    samples, sr = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    return samples[:, 0], int(sr)


def espeak(word: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    return _run([binary("espeak-ng"), "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", word], voice)


@functools.lru_cache(maxsize=256)
def _cached(engine: str, name: str, word: str) -> tuple[bytes, int]:
    if engine == "flite":
        samples, sr = _run([binary("flite"), "-voice", name, "-t", word, "-o", "{out}"], name)
    elif engine == "festival":
        samples, sr = _run([binary("text2wave"), "-eval", f"(voice_{name})", "-o", "{out}"], name,
                           stdin=word.encode())
    else:
        raise DataGenerationError(f"unknown speech engine {engine!r}")
    return samples.tobytes(), sr


def synthesize(word: str, voice: str, rate: int, pitch: int) -> tuple[np.ndarray, int]:
    """``word`` spoken by ``voice`` -> (float32 samples, sample rate)."""
    engine = engine_of(voice)
    if engine == "espeak":
        return espeak(word, voice.split(":", 1)[-1], rate, pitch)
    if engine == "piper":
        return piper.synthesize(word, voice.split(":", 1)[1], rate)
    data, sr = _cached(engine, voice.split(":", 1)[1], word)
    return np.frombuffer(data, dtype=np.float32).copy(), sr


def other_voices(held_out: bool) -> list[str]:
    """flite, festival and piper voices of one side of the split."""
    every = ([f"flite:{v}" for v in FLITE_VOICES] + [f"festival:{v}" for v in FESTIVAL_VOICES]
             + [f"piper:{v}" for v in piper.VOICES])
    return [v for v in every if (v in HELD_OUT) == held_out]


def pick_voice(voices: list[str], rng: np.random.Generator) -> str:
    """An engine by ENGINE_WEIGHTS (among those in ``voices``), then one of its voices."""
    by_engine: dict[str, list[str]] = {}
    for v in voices:
        by_engine.setdefault(engine_of(v), []).append(v)
    engines = sorted(by_engine)
    weights = np.asarray([ENGINE_WEIGHTS[e] for e in engines])
    engine = engines[int(rng.choice(len(engines), p=weights / weights.sum()))]
    return by_engine[engine][int(rng.integers(len(by_engine[engine])))]
