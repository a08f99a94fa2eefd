from __future__ import annotations

import numpy as np
import pytest

from mmtriton.errors import InvalidInputError
from mmtriton.preprocess.batching import bytes_rows, pad_axis1, split_rows


def test_pad_axis1_pads_each_request_to_the_longest_and_keeps_order():
    a, b = np.ones((2, 3, 4), np.float32), np.full((1, 5, 4), 2, np.float32)
    out = pad_axis1([a, b])
    assert out.shape == (3, 5, 4)
    assert np.array_equal(out[:2, :3], a) and not out[:2, 3:].any()
    assert np.array_equal(out[2], b[0])


def test_pad_axis1_concatenates_fixed_shapes():
    out = pad_axis1([np.zeros((2, 1), np.int32), np.ones((3, 1), np.int32)])
    assert out.shape == (5, 1) and out[2:].all()


def test_split_rows_inverts_concatenation_and_checks_counts():
    arr = np.arange(10).reshape(5, 2)
    parts = split_rows(arr, [2, 3])
    assert np.array_equal(np.concatenate(parts), arr) and parts[0].shape == (2, 2)
    with pytest.raises(InvalidInputError):
        split_rows(arr, [2, 2])


def test_bytes_rows_requires_batch_by_one():
    assert bytes_rows(np.array([[b"a"], [b"bc"]], dtype=object), "x") == [b"a", b"bc"]
    with pytest.raises(InvalidInputError, match=r"\[batch, 1\]"):
        bytes_rows(np.array([b"a", b"b"], dtype=object), "x")
