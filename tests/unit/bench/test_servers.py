"""Server variants for benchmarks: the no-batching policy and the unreachable-server error."""

from __future__ import annotations

import pytest

from mmtriton.bench.servers import check_reachable, no_batching
from mmtriton.errors import BenchError
from mmtriton.serving.server import free_port


def test_no_batching_turns_off_every_dynamic_batcher_and_keeps_instances(graph):
    policy = no_batching(graph)
    assert set(policy) == {m.name for m in graph.models}
    for m in graph.models:
        assert policy[m.name].dynamic is False
        assert policy[m.name].instances == m.batching.instances


def test_unreachable_server_is_a_clear_error():
    port = free_port()
    with pytest.raises(BenchError, match=f"no Triton server reachable at 127.0.0.1:{port}"):
        check_reachable(f"127.0.0.1:{port}", "multimodal")
