"""INT8 calibration batches have exactly the calibration profile's opt shapes (TensorRT's rule for
dynamic-shape calibration), and lengths stay consistent with cropped frames."""

from __future__ import annotations

import numpy as np

from mmtriton.engine.calibration import fit_to_opt


def test_audio_batch_is_cropped_or_padded_to_opt_and_lengths_follow(graph):
    spec = graph.audio_encoder
    mel, length = spec.input_names
    opt = spec.profiles()[mel].opt
    rng = np.random.default_rng(0)
    long = rng.standard_normal((opt[0], opt[1] + 40, opt[2])).astype(np.float32)
    out = fit_to_opt(spec, {mel: long, length: np.full((opt[0], 1), opt[1] + 40, np.int32)})
    assert out[mel].shape == opt and np.array_equal(out[mel], long[:, : opt[1]])
    assert out[length].dtype == np.int32 and (out[length] == opt[1]).all()
    short = long[:, :10]
    out = fit_to_opt(spec, {mel: short, length: np.full((opt[0], 1), 10, np.int32)})
    assert out[mel].shape == opt and not out[mel][:, 10:].any() and (out[length] == 10).all()


def test_token_batches_get_opt_length(graph):
    spec = graph.text_encoder
    ids, mask = spec.input_names
    opt = spec.profiles()[ids].opt
    arrays = {ids: np.ones((opt[0], 3), np.int32), mask: np.ones((opt[0], 3), np.int32)}
    out = fit_to_opt(spec, arrays)
    assert out[ids].shape == opt and out[mask].shape == opt and out[mask][:, 3:].sum() == 0


def test_static_inputs_are_untouched(graph):
    spec = graph.image_encoder
    pixels = np.zeros(spec.profiles()[spec.input_names[0]].opt, np.float32)
    assert fit_to_opt(spec, {spec.input_names[0]: pixels})[spec.input_names[0]].shape == pixels.shape
