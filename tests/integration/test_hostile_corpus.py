"""Every file of the hostile corpus (tests/integration/hostile_corpus.py) through the served
ensemble: valid ones are served, invalid ones get INVALID_ARG naming the problem, messages carry
no paths or addresses, the server's memory stays bounded and it stays ready."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import tritonclient.grpc as grpc
from hostile_corpus import Case, corpus
from tritonclient.utils import InferenceServerException

from mmtriton.serving import procinfo
from mmtriton.serving.requests import ensemble_inputs

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROUNDS = 3


def _send(client, graph, case: Case):
    inputs = ensemble_inputs(grpc, graph, **{case.modality: case.data})
    try:
        return client.infer(graph.ensemble.name, inputs, client_timeout=60), None
    except InferenceServerException as e:
        return None, e


def _check(graph, case: Case, result, error) -> None:
    if case.valid:
        assert error is None, f"{case.name} must be served: {error}"
        probs = result.as_numpy(graph.ensemble.outputs[0].name)
        assert probs.shape == (1, len(graph.class_names)) and abs(float(probs.sum()) - 1) < 1e-4
        return
    assert error is not None, f"{case.name} was served"
    assert error.status() == "StatusCode.INVALID_ARGUMENT", f"{case.name}: {error.status()} {error.message()}"
    assert case.expect in error.message(), f"{case.name}: {error.message()!r} does not say {case.expect!r}"
    assert not re.search(r"0x[0-9a-f]{6,}|/tmp/|/dev/shm|shm_region", error.message()), error.message()


def test_every_corpus_file_is_served_or_refused_clearly(server, grpc_client, graph):
    cases = corpus(graph)
    assert sum(c.valid for c in cases) >= 25 and sum(not c.valid for c in cases) >= 15
    for case in cases:
        _check(graph, case, *_send(grpc_client, graph, case))
    assert server.is_ready()


def test_corpus_in_concurrent_rounds_bad_next_to_good(server, grpc_client, graph):
    """The corpus sent 3 times, 8 requests at a time (so bad ones share batches with good ones):
    every file gets its own verdict. The tree's RSS is printed, not judged: how much allocators
    keep depends on which batches formed, i.e. on timing; leaks are judged by `make soak`."""
    cases = corpus(graph)
    pid = server.process.pid
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda c: _send(grpc_client, graph, c), cases))  # warm-up: allocators, shm pools
        before = sum(procinfo.tree_rss(pid).values())
        for _ in range(ROUNDS):
            outcomes = list(pool.map(lambda c: _send(grpc_client, graph, c), cases))
            for case, (result, error) in zip(cases, outcomes):
                _check(graph, case, result, error)
    after = procinfo.tree_rss(pid)
    growth = sum(after.values()) - before
    print(f"corpus: {len(cases)} files x {ROUNDS} rounds, tree RSS {before / 2**20:.0f} -> "
          f"{sum(after.values()) / 2**20:.0f} MiB ({growth / 2**20:+.1f} MiB)")
    assert server.is_ready()
