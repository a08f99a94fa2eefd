"""``dataset.json``: what a generated data set was made from, so a rerun can reuse it safely."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from mmtriton.data import generate
from mmtriton.data.fonts import split_fonts
from mmtriton.data.speech import HELD_OUT_VARIANTS

INFO_FILE = "dataset.json"


def describe(plans: tuple[generate.SplitPlan, ...]) -> dict:
    train_fonts, held_fonts = split_fonts()
    return {
        "version": 1,
        "plans": [dataclasses.asdict(p) for p in plans],
        "held_out_fonts": [f.name for f in held_fonts],
        "train_fonts": [f.name for f in train_fonts],
        "held_out_voice_variants": list(HELD_OUT_VARIANTS),
        "probabilities": {"image": generate.P_IMAGE, "audio": generate.P_AUDIO, "text": generate.P_TEXT},
    }


def is_current(root: Path, plans: tuple[generate.SplitPlan, ...]) -> bool:
    """True when ``root`` holds a complete data set generated from exactly these plans."""
    info = root / INFO_FILE
    if not info.is_file() or any(not (root / f"{p.name}.jsonl").is_file() for p in plans):
        return False
    return json.loads(info.read_text()) == describe(plans)


def write_info(root: Path, plans: tuple[generate.SplitPlan, ...]) -> None:
    (root / INFO_FILE).write_text(json.dumps(describe(plans), indent=2) + "\n")
