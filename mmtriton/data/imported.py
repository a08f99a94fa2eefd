"""A checked data set folder as the split manifests every later step reads (training, export
parity, engine calibration, benchmarks, the demo): the same ``<split>.jsonl`` rows the generator
writes, with absolute file paths into the user's folder, so nothing downstream needs to know
where the data came from. Nothing is copied."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from mmtriton.data.folder import Row
from mmtriton.data.generate import Sample
from mmtriton.data.validate import SPLIT_NAMES, Checked


def sample(row: Row, label: int) -> Sample:
    """Present modalities count as clean/informative (the demo picks its requests by that)."""
    image = str(row.path("image").resolve()) if row.image is not None else None
    audio = str(row.path("audio").resolve()) if row.audio is not None else None
    return Sample(row.where, label, image, audio, row.text,
                  "clean" if image else "absent", "clean" if audio else "absent",
                  "informative" if row.text is not None else "absent", "", row.group or "")


def write_manifests(checked: Checked, out: Path) -> None:
    """``out/<split>.jsonl`` for train, val and test."""
    index = {name: i for i, name in enumerate(checked.classes)}
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLIT_NAMES:
        rows = [sample(r, index[r.label]) for r in checked.split(split)]
        (out / f"{split}.jsonl").write_text("".join(json.dumps(asdict(s)) + "\n" for s in rows))
