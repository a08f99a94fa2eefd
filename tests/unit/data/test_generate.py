from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmtriton.data import channel, speech
from mmtriton.data.fonts import split_fonts
from mmtriton.data.generate import SplitPlan, generate_split, read_manifest
from mmtriton.errors import DataGenerationError


def _files(root: Path, split: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / split).iterdir())}


def test_generation_is_deterministic_whatever_the_worker_count(tmp_path):
    plan = SplitPlan("train", 12, False, 3)
    a = generate_split(plan, tmp_path / "a", workers=1)
    b = generate_split(plan, tmp_path / "b", workers=2)
    assert a.read_text() == b.read_text()
    assert _files(tmp_path / "a", "train") == _files(tmp_path / "b", "train")


def test_test_split_holds_out_whole_voices_and_fonts(tiny_data):
    _, held_fonts = split_fonts()
    held = {f.name for f in held_fonts}
    test_rows, train_rows = read_manifest(tiny_data / "test.jsonl"), read_manifest(tiny_data / "train.jsonl")
    assert all(speech.held_out(r.voice) for r in test_rows)
    assert all(r.font in held for r in test_rows)
    assert not any(speech.held_out(r.voice) for r in train_rows)
    assert not any(r.font in held for r in train_rows)


def test_rows_are_consistent(tiny_data):
    rows = read_manifest(tiny_data / "train.jsonl")
    assert [r.label for r in rows] == [i % 10 for i in range(len(rows))]
    for r in rows:
        assert any(x is not None for x in (r.image, r.audio, r.text))
        assert (r.image is None) == (r.image_state == "absent")
        assert (r.audio is None) == (r.audio_state == "absent")
        assert (r.text is None) == (r.text_state == "absent")


def test_every_file_decodes_with_the_shared_preprocessing(tiny_data, preprocessor):
    for split in ("train", "val", "test"):
        for r in read_manifest(tiny_data / f"{split}.jsonl"):
            if r.image:
                assert preprocessor.image((tiny_data / split / r.image).read_bytes()).shape[0] == 3
            if r.audio:
                assert preprocessor.audio((tiny_data / split / r.audio).read_bytes()).ndim == 2


def test_too_few_fonts_is_a_clear_error():
    with pytest.raises(DataGenerationError, match="fonts"):
        split_fonts([Path("/nonexistent/a.ttf")] * 3)


@pytest.mark.parametrize("seed", range(6))  # each seed draws another noise kind (hum, white, pink, brown)
def test_background_noise_is_added_at_the_requested_snr(seed):
    rng = np.random.default_rng(seed)
    clean = np.sin(np.linspace(0, 400 * np.pi, 16000)).astype(np.float32)
    noisy = channel.background(clean, 16000, rng, 10.0)
    snr = 10 * np.log10(np.mean(clean ** 2) / np.mean((noisy - clean) ** 2))
    assert abs(snr - 10.0) < 0.1
