"""A user's data set is judged before training: row-numbered problems, splits by group, a
fingerprint of the content; the CLI reports them and exits 2 with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np

import pytest
from user_datasets import CLASSES, beeps_wav, shape_png, write_shapes

from mmtriton import workflows as wf
from mmtriton.data.folder import read_folder
from mmtriton.data.validate import MAX_REPORTED, assign_splits, report
from mmtriton.errors import DatasetError
from mmtriton.paths import Artifacts


@pytest.fixture()
def shapes(tmp_path):
    root = tmp_path / "shapes"
    write_shapes(root)
    return root


def test_a_valid_folder_passes_with_its_classes_and_every_class_in_every_split(shapes):
    checked = wf.check_dataset(shapes)
    assert checked.problems == ()
    assert checked.classes == tuple(sorted(CLASSES))
    for split in ("train", "val", "test"):
        assert set(Counter(r.label for r in checked.split(split))) == set(CLASSES), split
    groups = {}
    for row, split in zip(checked.rows, checked.splits):
        assert groups.setdefault(row.group, split) == split, "a writer's rows stay in one split"


def test_csv_with_hugging_face_column_names_reads_like_jsonl(tmp_path):
    write_shapes(tmp_path / "j", seed=3)
    write_shapes(tmp_path / "c", seed=3, csv_format=True)
    j, c = read_folder(tmp_path / "j"), read_folder(tmp_path / "c")
    strip = [(r.label, r.image, r.audio, r.text, r.group) for r in j.rows]
    assert strip == [(r.label, r.image, r.audio, r.text, r.group) for r in c.rows]
    assert wf.check_dataset(tmp_path / "c").fingerprint == wf.check_dataset(tmp_path / "j").fingerprint


def test_classes_txt_fixes_the_order_and_refuses_unknown_labels(tmp_path):
    root = tmp_path / "d"
    write_shapes(root, classes_file=True)
    assert wf.check_dataset(root).classes == tuple(reversed(CLASSES))
    (root / "classes.txt").write_text("circle\nsquare\n")
    problems = [str(p) for p in wf.check_dataset(root).problems]
    assert any("'triangle' is not in classes.txt" in p for p in problems)


def test_the_fingerprint_follows_the_content_not_the_file_names(shapes):
    before = wf.check_dataset(shapes, decode=False).fingerprint
    meta = shapes / "metadata.jsonl"
    rows = [json.loads(line) for line in meta.read_text().splitlines()]
    first = rows[0]["file_name"]
    os.rename(shapes / first, shapes / "images" / "renamed.png")
    rows[0]["file_name"] = "images/renamed.png"
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert wf.check_dataset(shapes, decode=False).fingerprint == before
    (shapes / "images" / "renamed.png").write_bytes(shape_png("circle", np.random.default_rng(9)))
    assert wf.check_dataset(shapes, decode=False).fingerprint != before


def _broken(root):
    """Every kind of row problem once, at known line numbers of metadata.jsonl."""
    write_shapes(root)
    lines = (root / "metadata.jsonl").read_text().splitlines()
    (root / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (root / "audio" / "notaudio.wav").write_bytes(b"this is not a recording" * 20)
    (root / "audio" / "ok.wav").write_bytes(beeps_wav("circle", np.random.default_rng(1)))
    bad = [
        '{"label": "circle", "file_name": "images/missing.png"}',
        '{"label": "circle", "file_name": "images/corrupt.png"}',
        '{"label": "square", "audio": "audio/notaudio.wav"}',
        '{"label": "circle"}',
        '{"file_name": "images/0000.png"}',
        'not json at all',
        lines[0],
        '{"label": "circle", "audio": "audio/ok.wav", "split": "holdout"}',
        '{"label": "circle", "file_name": "../outside.png"}',
        '{"label": "circle", "text": "' + "x" * 12000 + '"}',
    ]
    (root / "metadata.jsonl").write_text("\n".join(lines + bad) + "\n")
    return len(lines)


def test_every_broken_row_is_reported_with_its_line_and_reason(tmp_path):
    n = _broken(tmp_path / "b")
    problems = {p.where: p.reason for p in wf.check_dataset(tmp_path / "b").problems}
    at = {k - n: v for where, v in problems.items() if where.startswith("metadata.jsonl:")
          for k in [int(where.split(":")[1])] if k > n}
    assert "does not exist" in at[1]
    assert at[2].startswith("image: not a decodable image")
    assert at[3].startswith("audio: not a decodable audio file")
    assert "at least one modality" in at[4]
    assert at[5] == "no label"
    assert "not valid JSON" in at[6]
    assert "duplicates metadata.jsonl:1" in at[7]
    assert "unknown split 'holdout'" in at[8]
    assert "outside the data set folder" in at[9]
    assert at[10].startswith("text: text is 12000 characters")
    assert set(at) == set(range(1, 11)), "no other row is blamed"


def test_a_class_too_small_for_the_splits_and_an_empty_split_are_reported(tmp_path):
    root = tmp_path / "small"
    write_shapes(root, groups=3, per_class=1)
    rows = [json.loads(line) for line in (root / "metadata.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["label"] != "triangle"] + [r for r in rows if r["label"] == "triangle"][:1]
    (root / "metadata.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    problems = [str(p) for p in wf.check_dataset(root).problems]
    assert any(p.startswith("class 'triangle': too few samples for a split: 1 row(s)") for p in problems), problems


def test_splits_a_user_names_are_kept_and_a_group_across_splits_is_refused(shapes):
    meta = shapes / "metadata.jsonl"
    rows = [json.loads(line) for line in meta.read_text().splitlines()]
    for r in rows:
        r["split"] = {"writer0": "test", "writer1": "validation"}.get(r["group"], "train")
    rows[0]["split"] = "train"  # writer0 now spans train and test
    meta.write_text("".join(json.dumps(r) + "\n" for r in rows))
    checked = wf.check_dataset(shapes)
    assert [str(p) for p in checked.problems] == ["group 'writer0': spans splits ['test', 'train']: a group must stay in one split"]
    assert {r.group for r in checked.split("val")} == {"writer1"}


def test_assignment_is_deterministic_and_independent_of_row_order(shapes):
    rows = list(read_folder(shapes).rows)
    by_where = dict(zip((r.where for r in rows), assign_splits(rows)))
    reordered = rows[::-1]
    assert dict(zip((r.where for r in reordered), assign_splits(reordered))) == by_where


def test_the_report_is_capped():
    from mmtriton.data.validate import Problem

    text = report([Problem(f"m:{i}", "bad") for i in range(MAX_REPORTED + 7)])
    assert text.count("\n") == MAX_REPORTED and text.endswith("... and 7 more")


def test_use_dataset_writes_nothing_for_a_broken_folder_and_the_manifests_for_a_good_one(tmp_path, shapes):
    art = Artifacts(tmp_path / "art")
    _broken(tmp_path / "b")
    with pytest.raises(DatasetError) as e:
        wf.use_dataset(art, tmp_path / "b")
    assert len(e.value.problems) == 10 and not art.root.exists()
    info = wf.use_dataset(art, shapes)
    from mmtriton.data.generate import read_manifest

    test = read_manifest(art.manifest("test"))
    assert len(test) == info["rows"]["test"] and all(s.image is None or shapes / "images" in Path(s.image).parents
                                                     for s in test)
    assert [info["classes"][s.label] for s in test] == [r.label for r in wf.check_dataset(shapes).split("test")]


def test_the_cli_reports_problems_with_rows_and_exits_2(tmp_path):
    _broken(tmp_path / "b")
    env = {**os.environ, "MMTRITON_ARTIFACTS": str(tmp_path / "art")}
    out = subprocess.run([sys.executable, "-m", "mmtriton.cli", "validate-dataset", str(tmp_path / "b")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "10 problem(s)" in out.stdout and "metadata.jsonl:" in out.stdout and "no label" in out.stdout
    train = subprocess.run([sys.executable, "-m", "mmtriton.cli", "train", "--dataset", str(tmp_path / "b")],
                           capture_output=True, text=True, env=env, timeout=300)
    assert train.returncode == 2 and "problem(s); nothing was written" in train.stdout, train.stdout + train.stderr
    assert not (tmp_path / "art").exists()
