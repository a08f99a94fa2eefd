"""The benchmark workload: real held-out files, a fixed subset mix, large and long variants."""

from __future__ import annotations

import io

import numpy as np
import soundfile as sf
from PIL import Image

from mmtriton.data.payloads import SUBSET_MIX, build_items, describe, large_jpeg, long_wav
from mmtriton.data.generate import read_manifest


def _items(tiny_data, count=24):
    return build_items(tiny_data / "test", read_manifest(tiny_data / "test.jsonl"), count)


def test_items_follow_the_subset_mix_and_carry_only_their_modalities(tiny_data):
    items = _items(tiny_data)
    assert items, "the tiny test split has samples with all three modalities"
    for i, it in enumerate(items):
        assert it.subset == SUBSET_MIX[i % len(SUBSET_MIX)]
        for m in ("image", "audio", "text"):
            assert (getattr(it, m) is not None) == (m in it.subset)


def test_every_fourth_image_is_a_640x480_jpeg_and_every_fourth_clip_3s_44k(tiny_data):
    items = _items(tiny_data)
    big = Image.open(io.BytesIO(items[0].image))
    assert (big.format, big.size) == ("JPEG", (640, 480))
    clip = next(it for i, it in enumerate(items) if i % 4 == 2 and it.audio)
    info = sf.info(io.BytesIO(clip.audio))
    assert (info.samplerate, info.frames, info.subtype) == (44_100, 132_300, "PCM_16")


def test_large_variants_are_accepted_by_the_shared_preprocessing(tiny_data, preprocessor, graph):
    sample = read_manifest(tiny_data / "test.jsonl")[0]
    folder = tiny_data / "test"
    pixels = preprocessor.image(large_jpeg((folder / sample.image).read_bytes()))
    assert pixels.shape == (3, graph.preset.image.size, graph.preset.image.size)
    mel = preprocessor.audio(long_wav((folder / sample.audio).read_bytes()))
    assert mel.shape == (graph.preset.audio.frames(3.0), graph.preset.audio.n_mels)
    assert np.isfinite(mel).all()


def test_describe_counts_what_the_items_contain(tiny_data):
    items = _items(tiny_data, 12)
    d = describe(items)
    assert d["items"] == len(items)
    assert sum(d["subsets"].values()) == len(items)
    assert d["large_images"] == sum(1 for i, it in enumerate(items) if it.image and i % 4 == 0)
