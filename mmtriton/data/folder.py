"""Users' own labelled data: a folder with ``metadata.jsonl`` or ``metadata.csv``, in the style of
Hugging Face's imagefolder / audiofolder, read into rows without judging them.

A row names an image file, an audio file and/or a text, a label, and optionally a split and a
group (speaker, writer: rows of one group always land in one split). Paths are relative to the
metadata file. The metadata may also sit in split folders (``train/metadata.csv``, ...), which
then give the split. ``classes.txt`` (one name per line) fixes the class order; without it the
classes are the labels sorted. Judging the rows is ``mmtriton.data.validate``'s job.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from mmtriton.spec.modality import MODALITIES

METADATA_NAMES = ("metadata.jsonl", "metadata.csv")
CLASSES_FILE = "classes.txt"
SPLIT_FOLDERS = ("train", "validation", "val", "valid", "dev", "test")
# Accepted spellings of each column: the first is ours, the others Hugging Face's.
COLUMNS = {
    "image": ("image", "image_file_name", "image_file"),
    "audio": ("audio", "audio_file_name", "audio_file"),
    "text": ("text", "caption", "sentence"),
}
SPLITS = {"train": "train", "val": "val", "validation": "val", "valid": "val", "dev": "val", "test": "test"}
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus"})


@dataclass(frozen=True)
class Row:
    """One metadata row as written; ``where`` is ``file:line`` for reports."""

    where: str
    base: Path
    label: Optional[str]
    image: Optional[str]
    audio: Optional[str]
    text: Optional[str]
    split: Optional[str]
    group: Optional[str]
    problem: Optional[str] = None  # the row could not even be parsed

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if getattr(self, m) is not None)

    def path(self, modality: str) -> Path:
        return self.base / str(getattr(self, modality))


@dataclass(frozen=True)
class Folder:
    """A data set folder: its rows and the class order ``classes.txt`` fixes (None: from labels)."""

    root: Path
    rows: tuple[Row, ...]
    classes: Optional[tuple[str, ...]]
    metadata: tuple[Path, ...]


def metadata_files(root: Path) -> list[tuple[Path, Optional[str]]]:
    """(metadata file, the split its folder gives or None), root first."""
    found = [(root / n, None) for n in METADATA_NAMES if (root / n).is_file()]
    for sub in SPLIT_FOLDERS:
        found += [(root / sub / n, SPLITS[sub]) for n in METADATA_NAMES if (root / sub / n).is_file()]
    return found


def read_folder(root: Path) -> Folder:
    """Every row of every metadata file under ``root``; parse failures become rows with a problem."""
    root = Path(root)
    rows: list[Row] = []
    files = metadata_files(root) if root.is_dir() else []
    for path, split in files:
        rows += _read_file(path, root, split)
    classes_path = root / CLASSES_FILE
    classes = None
    if classes_path.is_file():
        classes = tuple(line.strip() for line in classes_path.read_text(encoding="utf-8").splitlines() if line.strip())
    return Folder(root, tuple(rows), classes, tuple(p for p, _ in files))


def _read_file(path: Path, root: Path, split: Optional[str]) -> list[Row]:
    where = path.relative_to(root).as_posix()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        return [Row(f"{where}", path.parent, None, None, None, None, split, None, f"cannot read: {e}")]
    if path.suffix == ".csv":
        return _csv_rows(text, where, path.parent, split)
    return [_json_row(line, f"{where}:{n}", path.parent, split)
            for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _json_row(line: str, where: str, base: Path, split: Optional[str]) -> Row:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as e:
        return Row(where, base, None, None, None, None, split, None, f"not valid JSON ({e.msg})")
    if not isinstance(record, dict):
        return Row(where, base, None, None, None, None, split, None, "a row must be a JSON object")
    return _row(record, where, base, split)


def _csv_rows(text: str, where: str, base: Path, split: Optional[str]) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text))
    rows = []
    for record in reader:
        line = f"{where}:{reader.line_num}"
        if None in record:
            rows.append(Row(line, base, None, None, None, None, split, None, "more fields than the header has"))
            continue
        rows.append(_row({k: v for k, v in record.items() if v not in (None, "")}, line, base, split))
    return rows


def _row(record: dict, where: str, base: Path, split: Optional[str]) -> Row:
    """Column spellings resolved; ``file_name`` (imagefolder/audiofolder) goes by its suffix."""
    values = {m: _first(record, names) for m, names in COLUMNS.items()}
    file_name = _text(record.get("file_name"))
    if file_name is not None:
        kind = "audio" if Path(file_name).suffix.lower() in AUDIO_SUFFIXES else "image"
        values[kind] = values[kind] or file_name
    row_split = _text(record.get("split"))
    return Row(where, base, _text(record.get("label")), values["image"], values["audio"], values["text"],
               row_split if row_split is not None else split, _text(record.get("group")))


def _first(record: dict, names: tuple[str, ...]) -> Optional[str]:
    return next((_text(record[n]) for n in names if _text(record.get(n)) is not None), None)


def _text(value: object) -> Optional[str]:
    """Labels and groups may be written as numbers; empty means absent."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value)
    return text if text.strip() else None
