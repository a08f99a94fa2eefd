"""Train/serve parity: the training loader and the public preprocessing functions produce
bit-identical arrays for the same bytes."""

from __future__ import annotations

import numpy as np

from mmtriton.data.generate import read_manifest
from mmtriton.preprocess import LogMel, pad_frames, preprocess_audio, preprocess_image
from mmtriton.preprocess.text import TextTokenizer
from mmtriton.resources import default_text_model
from mmtriton.training.dataset import load_split


def test_loader_matches_public_functions_bit_for_bit(tiny_data, graph, preprocessor):
    manifest = tiny_data / "test.jsonl"
    arrays = load_split(manifest, preprocessor)
    log_mel = LogMel(graph.preset.audio)  # a fresh instance, as a Triton model would build
    for i, row in enumerate(read_manifest(manifest)):
        if row.image:
            served = preprocess_image((tiny_data / "test" / row.image).read_bytes(), graph.preset.image)
            assert np.array_equal(arrays.pixels[i], served)
            assert arrays.pixels[i].dtype == graph.image_encoder.inputs[0].dtype.numpy
        else:
            assert not arrays.pixels[i].any() and arrays.presence[i, 0] == 0
        if row.audio:
            served = preprocess_audio((tiny_data / "test" / row.audio).read_bytes(), graph.preset.audio, log_mel)
            assert np.array_equal(arrays.mels[i], served)
        else:
            assert arrays.presence[i, 1] == 0
        assert arrays.texts[i] == row.text and arrays.presence[i, 2] == (row.text is not None)


def test_tokeniser_in_training_equals_a_freshly_built_one(tiny_data, graph, preprocessor):
    texts = [r.text for r in read_manifest(tiny_data / "train.jsonl") if r.text]
    ids_spec, mask_spec = graph.text_encoder.inputs
    fresh = TextTokenizer(default_text_model(), graph.preset.text, ids_spec.dtype, mask_spec.dtype)
    a, b = preprocessor.text(texts), fresh(texts)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_training_batches_are_padded_like_server_batches(tiny_data, untrained_model, preprocessor):
    from mmtriton.training.features import cache_split

    arrays = load_split(tiny_data / "val.jsonl", preprocessor)
    cached = cache_split(untrained_model, preprocessor, arrays)
    index = np.array([0, 3, 5])
    mel, lengths = cached.audio_batch(index)
    ref_mel, ref_len = pad_frames([arrays.mels[i] for i in index])
    assert np.array_equal(mel.numpy(), ref_mel) and np.array_equal(lengths.numpy(), ref_len)
    assert lengths.numpy().dtype == graph_dtype(untrained_model)


def graph_dtype(_model) -> np.dtype:
    from mmtriton.spec import get_graph

    return get_graph("demo").audio_encoder.inputs[1].dtype.numpy
