"""perf_analyzer --input-data JSON: spec-driven names and shapes, BYTES with the length prefix."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np

from mmtriton_bench.inputdata import bytes_entry, decode_bytes_entry, raw_entries, tensor_entry, write_input_data
from mmtriton.data.payloads import Item
from mmtriton.spec.dtypes import DType


def test_bytes_entry_has_a_little_endian_length_prefix():
    entry = bytes_entry(b"abc\x00\xff")
    raw = base64.b64decode(entry["b64"])
    assert raw[:4] == struct.pack("<I", 5) and raw[4:] == b"abc\x00\xff"
    assert entry["shape"] == [1]
    assert decode_bytes_entry(entry) == b"abc\x00\xff"


def test_raw_entries_leave_out_absent_modalities(graph):
    names = [t.name for t in graph.ensemble.inputs]
    items = [Item("a", 0, ("image", "text"), b"img", None, "seven"), Item("b", 1, ("audio",), None, b"wav", None)]
    first, second = raw_entries(graph, items)
    assert set(first) == {names[0], names[2]} and set(second) == {names[1]}
    assert decode_bytes_entry(first[names[2]]) == b"seven"


def _spec_tensors(graph):
    """Zero tensors for every tensor input of the graph, shaped by the spec (opt profile)."""
    specs = {t.name: t for m in graph.models for t in m.inputs + m.outputs}
    out = {}
    for t in specs.values():
        shape = t.shape(1, "opt")
        out[t.name] = np.full(shape, b"", dtype=object) if t.dtype is DType.BYTES else np.zeros(shape, t.dtype.numpy)
    return out


def test_tensor_entry_drops_the_batch_axis_and_keeps_dtype(graph):
    spec = graph.image_encoder.inputs[0]
    entry = tensor_entry(spec, np.ones(spec.shape(1, "opt"), np.float32))
    assert entry["shape"] == list(spec.shape(1, "opt")[1:])
    assert len(entry["content"]) == int(np.prod(entry["shape"]))


def test_one_file_per_model_naming_exactly_its_spec_inputs(graph, tmp_path):
    items = [Item("a", 0, ("image", "audio", "text"), b"i", b"a", "t")]
    paths = write_input_data(graph, items, [_spec_tensors(graph)], tmp_path)
    expected = {m.name: set(m.input_names) for m in graph.models}
    expected.update({e.name: {t.name for t in e.inputs} for e in graph.ensembles})
    assert set(paths) == set(expected)
    for name, path in paths.items():
        entries = json.loads(path.read_text())["data"]
        assert len(entries) == 1
        assert set(entries[0]) == expected[name], name
