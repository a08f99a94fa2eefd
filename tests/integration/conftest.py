"""One real embedded Triton per test session, on free ports, serving the trained reference model.

The model comes from ``artifacts/`` (trained on first use, then reused, exactly like ``make
demo``); the repository is written to a temporary folder so the checkout stays untouched.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import pytest

SESSION_QUEUE_TIMEOUT_US = 120_000_000


@pytest.fixture(scope="session")
def switches(tmp_path_factory):
    """Files that drive the session repository's test-only models (fault_injection.py)."""
    from fault_injection import Switches

    return Switches(tmp_path_factory.mktemp("switches"))


@pytest.fixture(scope="session")
def repository(artifacts, switches, tmp_path_factory):
    """The embedded repository with dynamic batching on for the encoders and fusion, whatever the
    tuned defaults say (on 2 CPU cores the tuning turns it off; a GPU deployment batches): the
    ragged-batching paths are the ones these tests must prove.

    Two test-only models make timing-dependent behaviour happen on demand (fault_injection.py):
    a text_preprocess instance that hangs on a marker text, and an audio encoder that holds each
    execution while a switch is on (so a concurrent burst must batch). The queue timeout is long
    here: a loaded CI host must not turn a slow request into a refusal in tests that check
    results; the queue policy has its own deterministic test (test_faults.py, overload)."""
    import dataclasses

    from mmtriton.repository.config import Target
    from mmtriton.repository.writer import write_repository
    from mmtriton.resources import default_text_model
    from mmtriton.spec import get_graph

    graph = get_graph("demo")
    overrides = {m.name: dataclasses.replace(m.batching, dynamic=True, queue_timeout_us=SESSION_QUEUE_TIMEOUT_US)
                 for m in graph.exported}
    overrides[graph.text_preprocess.name] = dataclasses.replace(graph.text_preprocess.batching, instances=2)
    tokenizer = Path(default_text_model()) / "tokenizer.json"
    repo = write_repository(graph.with_batching(overrides), Target.EMBEDDED, tmp_path_factory.mktemp("repo"),
                            artifacts.onnx("demo"), tokenizer)
    from fault_injection import ENCODER_HOLD_SECONDS, inject_hang, inject_switched_hold

    inject_hang(repo / graph.text_preprocess.name, switches.hang_release)
    switches.release_hang()
    inject_switched_hold(repo / graph.audio_encoder.name, switches.encoder_hold, ENCODER_HOLD_SECONDS)
    return repo


@pytest.fixture(scope="session")
def server(repository, tmp_path_factory):
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    work = tmp_path_factory.mktemp("triton")
    cfg = ServerConfig(repository, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       exit_timeout_s=3, work_dir=work, admin_key=secrets.token_urlsafe(16))
    srv = EmbeddedServer(cfg).start(timeout_s=300)
    yield srv
    pid = srv.process.pid if srv.process else None  # a test may have restarted it
    srv.stop()
    alive = pid is not None and subprocess.run(["ps", "-p", str(pid)], capture_output=True).returncode == 0
    assert not alive, "tritonserver outlived the test session"


@pytest.fixture(scope="session")
def grpc_client(server):
    import tritonclient.grpc as grpc

    client = grpc.InferenceServerClient(server.cfg.grpc_url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def offline(artifacts):
    """The PyTorch model and preprocessing the served pipeline must agree with."""
    from mmtriton.preprocess import Preprocessor
    from mmtriton.training.checkpoint import load_model

    model, graph, _ = load_model(artifacts.checkpoint("demo"))
    return model, Preprocessor(graph)


def pytest_collection_modifyitems(config, items):
    """The user-data-set test runs first (it starts its own server); the fault and stop tests
    (kills, hangs, signals, overload) run after every other integration test.

    They kill stubs, hang instances and stop the server, so nothing else shares the session
    server after them. (A sporadic wedge first blamed on this order came from requests without
    any input; model_repository/README.md, "Requests without any input".)
    """
    first = [i for i in items if i.nodeid.startswith("tests/integration/test_user_dataset.py")]
    if first:  # its own server, started and stopped before the session server exists
        items[:] = first + [i for i in items if i not in first]
    last = ("tests/integration/test_faults.py", "tests/integration/test_stop.py")
    faults = [i for i in items if i.nodeid.startswith(last)]
    if faults:
        rest = [i for i in items if i not in faults]
        last_integration = max((k for k, i in enumerate(rest) if i.nodeid.startswith("tests/integration/")), default=-1)
        items[:] = rest[: last_integration + 1] + faults + rest[last_integration + 1:]
