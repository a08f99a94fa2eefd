"""Small labelled data sets written by the tests themselves, in the folder format a user brings
(metadata.jsonl / metadata.csv + media files), with labels that are not digits.

Three classes that every modality can tell apart: a drawn shape (image), a tone pattern (audio:
one, two or three beeps) and a caption naming it. Each writer/speaker ("group") contributes every
class; some rows lack a modality, as users' data does.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Optional

import numpy as np

CLASSES = ("circle", "square", "triangle")
CAPTIONS = {"circle": "a round circle", "square": "a square with four corners", "triangle": "a pointed triangle"}


def shape_png(label: str, rng: np.random.Generator, size: int = 96) -> bytes:
    from PIL import Image, ImageDraw

    bg = tuple(int(v) for v in rng.integers(200, 256, 3))
    ink = tuple(int(v) for v in rng.integers(0, 90, 3))
    im = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(im)
    r = int(rng.integers(22, 38))
    cx, cy = (int(v) for v in rng.integers(r + 4, size - r - 4, 2))
    box = (cx - r, cy - r, cx + r, cy + r)
    if label == "circle":
        draw.ellipse(box, fill=ink)
    elif label == "square":
        draw.rectangle(box, fill=ink)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=ink)
    out = io.BytesIO()
    im.save(out, format="PNG")
    return out.getvalue()


def beeps_wav(label: str, rng: np.random.Generator, rate: int = 16000) -> bytes:
    import soundfile as sf

    count = CLASSES.index(label) + 1
    freq = float(rng.uniform(500, 900))
    t = np.arange(int(0.12 * rate)) / rate
    beep = 0.5 * np.sin(2 * np.pi * freq * t)
    gap = np.zeros(int(0.1 * rate))
    clip = np.concatenate([np.zeros(int(0.1 * rate))] + [np.concatenate([beep, gap]) for _ in range(count)])
    clip = clip + rng.normal(0, 0.01, clip.shape)
    out = io.BytesIO()
    sf.write(out, clip.astype(np.float32), rate, format="WAV", subtype="PCM_16")
    return out.getvalue()


def write_shapes(root: Path, groups: int = 8, per_class: int = 2, seed: int = 0, csv_format: bool = False,
                 classes_file: bool = False) -> list[dict]:
    """A valid data set under ``root``; returns its rows. Row k drops the image when k % 7 == 3,
    the audio when k % 7 == 5 and the caption when k % 5 == 1 (never all three)."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "audio").mkdir(exist_ok=True)
    rows, k = [], 0
    for g in range(groups):
        for label in CLASSES:
            for _ in range(per_class):
                rows.append(_row(root, label, f"writer{g}", k, rng))
                k += 1
    _write_metadata(root, rows, csv_format)
    if classes_file:
        (root / "classes.txt").write_text("".join(f"{c}\n" for c in reversed(CLASSES)))
    return rows


def _row(root: Path, label: str, group: str, k: int, rng: np.random.Generator) -> dict:
    row: dict[str, Optional[str]] = {"label": label, "group": group}
    if k % 7 != 3:
        (root / "images" / f"{k:04d}.png").write_bytes(shape_png(label, rng))
        row["file_name"] = f"images/{k:04d}.png"
    if k % 7 != 5:
        (root / "audio" / f"{k:04d}.wav").write_bytes(beeps_wav(label, rng))
        row["audio"] = f"audio/{k:04d}.wav"
    if k % 5 != 1:
        row["text"] = CAPTIONS[label]
    return row


def _write_metadata(root: Path, rows: list[dict], csv_format: bool) -> None:
    if csv_format:
        with (root / "metadata.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["file_name", "audio", "text", "label", "group"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
