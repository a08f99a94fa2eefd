"""``dataset.json``: what the data set in ``artifacts/data`` is (the generated reference data or
a user's folder), its class names and its fingerprint, so a rerun can reuse it safely and a
checkpoint can record exactly what it was trained on."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any, Optional

from mmtriton.data import captions, engines, generate, handwriting, mnist_ink
from mmtriton.data.fonts import split_fonts
from mmtriton.data.speech import HELD_OUT_VARIANTS
from mmtriton.data.validate import SPLIT_NAMES
from mmtriton.errors import WorkflowError
from mmtriton.spec.presets import CLASS_NAMES

INFO_FILE = "dataset.json"
VERSION = 2
# Bumped whenever the generator draws other data from the same plans (3: handwriting, three
# speech engines, the channel simulation; 4: the neural piper voice; 5: real MNIST hands; 6: natural
# captions with held-out phrasings; 7: pen-stroke digits in regional styles, coarse scans; 8: small digits on bigger pages), so
# older generated data is regenerated, not reused.
GENERATOR = 8


def describe(plans: tuple[generate.SplitPlan, ...]) -> dict:
    train_fonts, held_fonts = split_fonts()
    return {
        "version": VERSION,
        "generator": GENERATOR,
        "plans": [dataclasses.asdict(p) for p in plans],
        "held_out_fonts": [f.name for f in held_fonts],
        "train_fonts": [f.name for f in train_fonts],
        "held_out_voice_variants": list(HELD_OUT_VARIANTS),
        "held_out_voices": list(engines.HELD_OUT),
        "p_handwritten": generate.P_HANDWRITTEN,
        "p_real_hand": generate.P_REAL_HAND,
        "p_strokes": generate.P_STROKES,
        "p_coarse_scan": handwriting.P_COARSE,
        "p_small_on_page": handwriting.P_SMALL,
        "real_hands": {"package": mnist_ink.PACKAGE, "train_per_class": mnist_ink.TRAIN_PER_CLASS},
        "captions": {"frames": len(captions.FRAMES), "held_out_frames": len(captions.HELD_OUT_FRAMES),
                     "p_typo": captions.P_TYPO},
        "probabilities": {"image": generate.P_IMAGE, "audio": generate.P_AUDIO, "text": generate.P_TEXT},
    }


def read_info(root: Path) -> Optional[dict[str, Any]]:
    path = root / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _complete(root: Path) -> bool:
    return all((root / f"{s}.jsonl").is_file() for s in SPLIT_NAMES)


def is_current(root: Path, plans: tuple[generate.SplitPlan, ...]) -> bool:
    """True when ``root`` holds a complete data set generated from exactly these plans."""
    info = read_info(root)
    return bool(info) and _complete(root) and info.get("generated") == describe(plans)


def write_info(root: Path, plans: tuple[generate.SplitPlan, ...]) -> None:
    described = describe(plans)
    digest = hashlib.sha256(json.dumps(described, sort_keys=True).encode())
    for split in plans:  # the rows (file names, captions, states) as generated
        digest.update((root / f"{split.name}.jsonl").read_bytes())
    _write(root, {"source": "generated", "classes": list(CLASS_NAMES), "fingerprint": digest.hexdigest(),
                  "generated": described})


def is_current_folder(root: Path, folder: Path, fingerprint: str) -> bool:
    """True when ``root`` holds the manifests of ``folder`` with exactly this content."""
    info = read_info(root)
    return bool(info) and _complete(root) and info.get("folder") == str(folder.resolve()) \
        and info.get("fingerprint") == fingerprint


def write_folder_info(root: Path, folder: Path, fingerprint: str, summary: dict) -> None:
    _write(root, {"source": "folder", "folder": str(folder.resolve()), "fingerprint": fingerprint,
                  **summary})


def _write(root: Path, info: dict) -> None:
    (root / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n")


def trained_on(root: Path) -> tuple[tuple[str, ...], str]:
    """(class names, fingerprint) of the data set in ``root``, for the checkpoint."""
    info = read_info(root)
    if not info or "fingerprint" not in info:
        raise WorkflowError(f"{root} holds no data set description ({INFO_FILE}); run `mmtriton data` "
                            "or `mmtriton train --dataset DIR`")
    return tuple(info["classes"]), str(info["fingerprint"])
