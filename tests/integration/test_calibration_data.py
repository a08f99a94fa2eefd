"""INT8 calibration reads real validation samples: every model gets full batches at opt shapes, and
the fusion model real encoder outputs (from the exported ONNX), not placeholders."""

from __future__ import annotations

import numpy as np
import pytest

from mmtriton.engine.calibration import calibration_batches

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("role", ["image_encoder", "audio_encoder", "text_encoder", "fusion"])
def test_calibration_batches_are_real_and_profile_shaped(artifacts, graph, role):
    spec = getattr(graph, role)
    batches = calibration_batches(graph, spec, artifacts.manifest("val"), artifacts.onnx("demo"), count=2)
    assert len(batches) == 2
    profiles = spec.profiles()  # calibration batches have the single-profile opt shapes
    for b in batches:
        assert set(b) == set(spec.input_names)
        for t in spec.inputs:
            assert b[t.name].shape == profiles[t.name].opt and b[t.name].dtype == t.dtype.numpy
    first = batches[0][spec.input_names[0]]
    assert np.isfinite(first).all() and np.std(first) > 0, "real data, not a constant placeholder"
