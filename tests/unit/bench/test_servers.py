"""Server variants for benchmarks: the no-batching policy and the unreachable-server error."""

from __future__ import annotations

import pytest

from mmtriton_bench.servers import check_reachable, flip_batching
from mmtriton.errors import BenchError
from mmtriton.serving.server import free_port


def test_flipping_twice_returns_to_the_original_batching_choice(graph):
    policy, batches = flip_batching(graph)
    flipped = graph.with_batching(policy)
    batchable = {m.name for m in graph.encoders} | {graph.fusion.name}
    for m in flipped.models:
        assert m.batching.dynamic is (batches and m.name in batchable)
        assert m.batching.instances == graph.model(m.name).batching.instances
    back, batches_back = flip_batching(flipped)
    assert batches_back is not batches
    for name in batchable:
        assert back[name].dynamic is graph.model(name).batching.dynamic


def test_unreachable_server_is_a_clear_error():
    port = free_port()
    with pytest.raises(BenchError, match=f"no Triton server reachable at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", "multimodal")
