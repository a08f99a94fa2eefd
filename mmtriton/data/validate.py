"""Judge a user's data set folder before any training: every problem with its row and reason,
then the split each row goes to and a fingerprint of what was read.

Media are decoded with the preprocessing library, so the limits and decoders are the server's:
a file that passes here is one the served model accepts. Splits the rows do not name are
assigned by group (a speaker or writer never spans two splits), stratified by class.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

from mmtriton.data.folder import METADATA_NAMES, SPLITS, Folder, Row
from mmtriton.errors import InvalidInputError, SpecError
from mmtriton.spec.graph import check_class_names

SPLIT_NAMES = ("train", "val", "test")
TARGETS = {"test": 0.15, "val": 0.15, "train": 0.70}  # dict order = tie-break order
MAX_REPORTED = 50


@dataclass(frozen=True)
class Problem:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Checked:
    """A data set that passed (``problems`` empty) or the reasons it did not."""

    classes: tuple[str, ...]
    rows: tuple[Row, ...]
    splits: tuple[str, ...]  # per row
    fingerprint: str
    problems: tuple[Problem, ...]

    def split(self, name: str) -> list[Row]:
        return [r for r, s in zip(self.rows, self.splits) if s == name]


Decoders = dict[str, Callable[[bytes], object]]


def check_folder(folder: Folder, decoders: Decoders) -> Checked:
    """Row problems, then set problems (classes, splits); ``decoders`` per modality raise
    InvalidInputError (the preprocessing library's image/audio/text entry points)."""
    if not folder.metadata:
        names = " or ".join(METADATA_NAMES)
        return Checked((), (), (), "", (Problem(str(folder.root), f"no {names} here or in a split folder"),))
    problems: list[Problem] = []
    digests: dict[int, dict[str, str]] = {}
    for i, row in enumerate(folder.rows):
        found, digests[i] = _row_problems(row, folder.root, decoders)
        problems += found
    classes = _classes(folder, problems)
    problems += _duplicates(folder.rows, digests)
    splits = assign_splits(folder.rows)
    problems += _split_problems(folder.rows, splits, classes)
    fp = fingerprint(folder.rows, splits, classes, digests)
    return Checked(classes, folder.rows, tuple(splits), fp, tuple(problems))


def _row_problems(row: Row, root: Path, decoders: Decoders) -> tuple[list[Problem], dict[str, str]]:
    if row.problem:
        return [Problem(row.where, row.problem)], {}
    found, digests = [], {}
    if row.label is None:
        found.append(Problem(row.where, "no label"))
    if not row.modalities:
        found.append(Problem(row.where, "no image, audio or text: a row needs at least one modality"))
    if row.split is not None and row.split.lower() not in SPLITS:
        found.append(Problem(row.where, f"unknown split {row.split!r} (train, val/validation, test)"))
    for modality in row.modalities:
        try:
            digests[modality] = _check_media(row, modality, root, decoders[modality])
        except InvalidInputError as e:
            found.append(Problem(row.where, f"{modality}: {e}"))
    return found, digests


def _check_media(row: Row, modality: str, root: Path, decode: Callable[[bytes], object]) -> str:
    """Decode one modality as the server would; the sha256 of what was read."""
    if modality == "text":
        decode(row.text)
        return hashlib.sha256(str(row.text).encode()).hexdigest()
    path = row.path(modality)
    if Path(str(getattr(row, modality))).is_absolute() or root.resolve() not in path.resolve().parents:
        raise InvalidInputError(f"{getattr(row, modality)!r} is outside the data set folder")
    if not path.is_file():
        raise InvalidInputError(f"file {getattr(row, modality)!r} does not exist")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InvalidInputError(f"file {getattr(row, modality)!r} cannot be read ({e.strerror})") from e
    decode(data)
    return hashlib.sha256(data).hexdigest()


def _classes(folder: Folder, problems: list[Problem]) -> tuple[str, ...]:
    """classes.txt's order, or the labels sorted; unknown labels and bad names are problems."""
    labels = [r.label for r in folder.rows if r.label is not None]
    classes = folder.classes if folder.classes is not None else tuple(sorted(set(labels)))
    try:
        check_class_names(classes)
    except SpecError as e:
        where = "classes.txt" if folder.classes is not None else "labels"
        problems.append(Problem(where, str(e)))
    if folder.classes is not None:
        known = set(folder.classes)
        problems += [Problem(r.where, f"label {r.label!r} is not in classes.txt") for r in folder.rows
                     if r.label is not None and r.label not in known]
    return classes


def _duplicates(rows: Sequence[Row], digests: dict[int, dict[str, str]]) -> list[Problem]:
    seen: dict[tuple, str] = {}
    found = []
    for i, row in enumerate(rows):
        if row.problem or not digests.get(i):
            continue
        key = (row.label, tuple(sorted(digests[i].items())))
        if key in seen:
            found.append(Problem(row.where, f"duplicates {seen[key]} (same label and content)"))
        else:
            seen[key] = row.where
    return found


def group_of(row: Row) -> str:
    return f"group:{row.group}" if row.group is not None else f"row:{row.where}"


def assign_splits(rows: Sequence[Row]) -> list[str]:
    """The split of every row: its own, else its group's, else a stratified draw by group.

    Groups are visited in the order of a hash of their name (deterministic, independent of row
    order); each goes to the split whose classes are furthest below their share (70/15/15),
    relative to that share, so small classes still reach val and test."""
    named = {group_of(r): _own(r) for r in rows if _own(r)}
    members: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if group_of(r) not in named:
            members[group_of(r)].append(r)
    totals = Counter(r.label for rows_ in members.values() for r in rows_)
    counts = {s: Counter() for s in TARGETS}
    for g in sorted(members, key=lambda g: hashlib.sha256(g.encode()).hexdigest()):
        labels = Counter(r.label for r in members[g])
        named[g] = max(TARGETS, key=lambda s: _need(labels, counts[s], totals, TARGETS[s]))
        counts[named[g]].update(labels)
    return [_own(r) or named[group_of(r)] for r in rows]


def _own(row: Row) -> Optional[str]:
    return SPLITS.get(row.split.lower()) if row.split else None


def _need(labels: Counter, have: Counter, totals: Counter, share: float) -> float:
    return sum(n * (share * totals[c] - have[c]) / (share * totals[c]) for c, n in labels.items())


def _split_problems(rows: Sequence[Row], splits: Sequence[str], classes: Sequence[str]) -> list[Problem]:
    found = []
    per_split = {s: Counter(r.label for r, sp in zip(rows, splits) if sp == s and not r.problem) for s in SPLIT_NAMES}
    for s in SPLIT_NAMES:
        if not per_split[s]:
            found.append(Problem(f"split {s}", "is empty"))
    for c in classes:
        total = sum(per_split[s][c] for s in SPLIT_NAMES)
        missing = [s for s in SPLIT_NAMES if per_split[s][c] == 0 and per_split[s]]
        if missing:
            found.append(Problem(f"class {c!r}", f"too few samples for a split: {total} row(s), none in "
                                 f"{', '.join(missing)} (a class needs at least one in train, val and test)"))
    groups: dict[str, set[str]] = defaultdict(set)
    for r, s in zip(rows, splits):
        if r.group is not None:
            groups[r.group].add(s)
    found += [Problem(f"group {g!r}", f"spans splits {sorted(ss)}: a group must stay in one split")
              for g, ss in groups.items() if len(ss) > 1]
    return found


def fingerprint(rows: Sequence[Row], splits: Sequence[str], classes: Sequence[str],
                digests: dict[int, dict[str, str]]) -> str:
    """sha256 over the classes and every row's label, split and content (not its file names)."""
    h = hashlib.sha256(json.dumps(list(classes)).encode())
    for i, (r, s) in enumerate(zip(rows, splits)):
        h.update(json.dumps([r.label, s, sorted(digests.get(i, {}).items())]).encode())
    return h.hexdigest()


def report(problems: Sequence[Problem], limit: int = MAX_REPORTED) -> str:
    """The problems one per line, at most ``limit`` of them, and how many more there are."""
    lines = [str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"... and {len(problems) - limit} more")
    return "\n".join(lines)


def summary(checked: Checked) -> dict[str, Optional[object]]:
    """Counts per split and class, for the CLI and dataset.json."""
    return {"classes": list(checked.classes),
            "rows": {s: len(checked.split(s)) for s in SPLIT_NAMES},
            "per_class": {s: dict(Counter(r.label for r in checked.split(s))) for s in SPLIT_NAMES}}
