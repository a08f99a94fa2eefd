"""Faults against the real session server: overload, a killed stub, a hung model instance and
SIGTERM under load. Each test leaves the server serving for the tests that follow (the
shutdown test starts it again)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
from fault_injection import HANG_MAX_SECONDS, HANG_TEXT
from mmtriton_client import Client
from mmtriton_client.errors import DeadlineExceededError

from mmtriton.serving import procinfo
from mmtriton.serving.supervisor import DeepProbe, Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TEXT = "the digit 6 written on a card"
# Failure guard for waits on a restart or a cold start: generous, because a loaded 2-core host
# may need minutes to start 13 Python stubs; no verdict here is "fast enough".
SUPERVISED_S = 240


@dataclass
class Outcomes:
    """Every request a load thread sent, with how it ended: none may be lost."""

    sent: int = 0
    ok: int = 0
    errors: dict = field(default_factory=dict)  # error class name -> count
    examples: dict = field(default_factory=dict)  # error class name -> its first message
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, error: BaseException | None) -> None:
        with self.lock:
            if error is None:
                self.ok += 1
            else:
                name = type(error).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
                self.examples.setdefault(name, str(error)[:300])

    @property
    def finished(self) -> int:
        return self.ok + sum(self.errors.values())


def _load(url: str, out: Outcomes, stop: threading.Event, retries: int, timeout: float) -> None:
    with Client(url, protocol="grpc", timeout=timeout, retries=retries) as client:
        while not stop.is_set():
            with out.lock:
                out.sent += 1
            try:
                client.predict(text=TEXT)
                out.record(None)
            except Exception as e:  # noqa: BLE001 - every outcome is recorded
                out.record(e)


def _start_load(url: str, threads: int, retries: int = 0, timeout: float = 20.0):
    out, stop = Outcomes(), threading.Event()
    workers = [threading.Thread(target=_load, args=(url, out, stop, retries, timeout), daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    return out, stop, workers


def _stop_load(stop: threading.Event, workers: list, timeout: float = 60) -> None:
    stop.set()
    for w in workers:
        w.join(timeout)
        assert not w.is_alive(), "a client call hung past its deadline"


HOLD_S = 1.5  # every postprocess execution in the overload repository takes this long
QUEUE_TIMEOUT_S = 0.3  # and a request may wait this long in its queue
BURST = 12


@pytest.fixture()
def overload_server(server, graph, artifacts, tmp_path):
    """The committed serving policy with two changes that make a burst *queue* on any host:
    postprocess (the last step) holds every execution ``HOLD_S`` (test-only model) and its queue
    timeout is ``QUEUE_TIMEOUT_S``. The session server is stopped meanwhile (one server at a time
    on 2 cores) and started again afterwards."""
    import dataclasses

    from fault_injection import inject_hold

    from mmtriton_bench.servers import write_variant
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    post = graph.postprocess
    assert post.batching.queue_timeout_us > 0, "the committed policy bounds the postprocess queue"
    held = graph.with_batching({post.name: dataclasses.replace(
        post.batching, queue_timeout_us=int(QUEUE_TIMEOUT_S * 1e6), instances=1)})
    repo = write_variant(held, tmp_path / "repo", artifacts.onnx("demo"))
    inject_hold(repo / post.name, HOLD_S)
    cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       exit_timeout_s=3, work_dir=tmp_path / "work")
    server.stop()
    try:
        with EmbeddedServer(cfg) as private:
            yield private
    finally:
        server.start(timeout_s=SUPERVISED_S)


def _timed_predict(client: Client) -> tuple[BaseException | None, float]:
    t0 = time.monotonic()
    try:
        client.predict(text=TEXT)
        return None, time.monotonic() - t0
    except Exception as e:  # noqa: BLE001 - every outcome is recorded
        return e, time.monotonic() - t0


def test_overload_refuses_queued_requests_with_a_retriable_error(overload_server):
    """A burst of BURST requests against a last step that serves one request per HOLD_S: without
    a bound the last one would wait BURST x HOLD_S; with the queue timeout the ones that waited
    longer than it are refused with UNAVAILABLE (the SDK's retriable ServerUnavailableError),
    the others finish, and the server stays ready. Nothing here depends on the host's speed: the
    hold, not the CPU, makes the queue (the 800-request CPU burst is `benchmarks/overload.py`)."""
    from concurrent.futures import ThreadPoolExecutor

    from mmtriton_client.errors import ServerUnavailableError

    url = overload_server.cfg.grpc_url
    with Client(url, protocol="grpc", retries=0, timeout=120) as client:
        client.predict(text=TEXT)  # warm: the first request of a fresh server pays for loading
        with ThreadPoolExecutor(BURST) as pool:
            results = list(pool.map(lambda _: _timed_predict(client), range(BURST)))
    ok = [t for e, t in results if e is None]
    refused = [(t, e) for e, t in results if e is not None]
    print(f"overload: {len(ok)} served (max {max(ok, default=0):.2f} s), {len(refused)} refused "
          f"(max {max((t for t, _ in refused), default=0):.2f} s)")
    assert all(isinstance(e, ServerUnavailableError) for _, e in refused), refused
    assert all("timeout" in str(e).lower() for _, e in refused), refused
    assert ok and refused, (len(ok), len(refused))
    assert min(ok) >= HOLD_S, "the hold is in the request path (else this test proves nothing)"
    assert max(t for t, _ in refused) < BURST * HOLD_S / 2, "refused without waiting for the queue to drain"
    assert overload_server.is_ready()
    with Client(url, retries=0, timeout=30) as client:
        assert client.predict(text=TEXT).label


def _wait_for(condition, timeout_s: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took. Deadlines here are generous failure
    guards for a loaded host, not the property under test."""
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < timeout_s, f"{what} did not happen within {timeout_s:.0f} s"
        time.sleep(0.1)
    return time.monotonic() - t0


def test_killed_stub_is_restarted_by_the_deep_probe_and_no_request_is_lost(server, graph):
    victim = next(s for s in procinfo.stubs(server.process.pid) if s.model == graph.text_encoder.name)
    with Supervisor(server, DeepProbe(graph, server.cfg.http_url, timeout_s=10), interval_s=1.0,
                    ready_timeout_s=SUPERVISED_S) as sup:
        out, stop, workers = _start_load(server.cfg.grpc_url, threads=3, retries=1000, timeout=SUPERVISED_S)
        _wait_for(lambda: out.ok >= 3, SUPERVISED_S, "3 requests served before the kill")
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        _wait_for(lambda: sup.restarts, SUPERVISED_S, "a restart by the supervisor")
        restart = sup.restarts[0]
        ok_at_restart = out.ok
        _wait_for(lambda: out.ok >= ok_at_restart + 3, SUPERVISED_S, "3 requests served after the restart")
        _stop_load(stop, workers, timeout=SUPERVISED_S + 30)
    recovered = restart.at + restart.seconds - killed_at
    print(f"stub kill: restart took {restart.seconds:.1f} s, serving again {recovered:.1f} s after the kill; "
          f"{out.sent} requests: {out.ok} ok, errors {out.errors}")
    assert restart.seconds > 0, "the restart failed"
    assert victim.shm_region not in procinfo.shm_regions(), "the killed stub's /dev/shm region was removed"
    assert "stub" in restart.reason.lower(), f"restarted for another reason: {restart.reason}"
    assert out.finished == out.sent, f"lost requests: sent {out.sent}, finished {out.finished}"
    assert set(out.errors) <= {"InferenceError", "ServerUnavailableError", "DeadlineExceededError"}, out.errors
    assert server.is_ready()


def test_hung_instance_surfaces_as_deadline_and_the_other_instance_keeps_serving(server, graph, switches):
    """A stuck execute() (heartbeat still alive, so 2.51 does not notice): the client's deadline
    fires, and the model's second instance keeps serving while the first is still blocked (it
    stays blocked until the test releases it, however long the other requests take)."""
    url = server.cfg.grpc_url
    assert graph.text_preprocess.name in {s.model for s in procinfo.stubs(server.process.pid)}
    with Client(url, retries=0, timeout=SUPERVISED_S) as client:
        assert client.predict(text=TEXT).label  # warm: the previous test restarted the server
    switches.arm_hang()
    try:
        with Client(url, retries=0, timeout=2) as client:
            t0 = time.monotonic()
            with pytest.raises(DeadlineExceededError):
                client.predict(text=HANG_TEXT)
            waited = time.monotonic() - t0
        with Client(url, retries=0, timeout=60) as client:
            served = [client.predict(text=TEXT).label for _ in range(3)]
        still_blocked = not switches.hang_release.exists()
    finally:
        switches.release_hang()
    assert waited < HANG_MAX_SECONDS / 2, "the deadline fired, not the end of the hang"
    assert len(served) == 3 and still_blocked
    with Client(url, retries=0, timeout=60) as client:
        assert all(client.predict(text=TEXT).label for _ in range(4)), "the released instance serves again"


def test_sigterm_under_load_drains_refuses_new_requests_and_cleans_shared_memory(server, graph):
    """On a freshly started server: 2.51 leaves the in-flight count of a cancelled or failed
    ensemble request stuck (earlier tests send such requests on purpose), and then SIGTERM waits
    out the whole exit timeout instead of draining; that case is described in
    model_repository/README.md, not judged here."""
    server.stop()
    server.start(timeout_s=SUPERVISED_S)
    pid = server.process.pid
    stubs = procinfo.stubs(pid)
    regions = {s.shm_region for s in stubs}
    assert regions and regions <= set(procinfo.shm_regions())
    out, stop, workers = _start_load(server.cfg.grpc_url, threads=3, retries=0, timeout=60)
    _wait_for(lambda: out.ok >= 3, SUPERVISED_S, "3 requests served before SIGTERM")
    t0 = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    returncode = server.process.wait(SUPERVISED_S)
    exited_after = time.monotonic() - t0
    _wait_for(lambda: out.errors, 60, "a request refused after the exit")
    _stop_load(stop, workers, timeout=90)
    # exited by itself (wait() returned); 2.51's exit status is not a verdict: measured 0 idle, 1
    # when its exit timeout expired on a stuck in-flight count, once -11 under load
    print(f"SIGTERM: exited after {exited_after:.1f} s with status {returncode}; {out.sent} requests: {out.ok} ok, errors {out.errors}")
    try:
        assert out.finished == out.sent, "every request ended (result or error)"
        assert set(out.errors) <= {"ServerUnavailableError"}, f"in-flight requests must complete: {out.examples}"
        assert out.errors, "requests after SIGTERM are refused"
        # the stubs finish after the server (measured: up to 2 s); the server unlinks their regions
        waited = procinfo.wait_exited(stubs, timeout_s=60)
        print(f"stubs exited {waited:.1f} s after the server")
        assert not regions & set(procinfo.shm_regions()), "shared-memory regions left in /dev/shm"
    finally:
        server.stop()
        server.start(timeout_s=SUPERVISED_S)
    assert server.is_ready()


def test_request_without_any_input_is_refused_or_the_supervisor_restores_service(server, graph):
    """All ensemble inputs are optional, so an empty request reaches the three preprocessing steps
    with zero inputs and all three fail at once; 2.51 then wedged within 1 to 3 such requests
    (model_repository/README.md, "Requests without any input"). The SDK refuses to send one; a
    raw client gets INVALID_ARGUMENT, or, once the server wedges, the supervisor restarts it."""
    import tritonclient.grpc as grpc
    from tritonclient.utils import InferenceServerException

    outcomes = []
    with Supervisor(server, DeepProbe(graph, server.cfg.http_url, timeout_s=10), interval_s=1.0,
                    ready_timeout_s=SUPERVISED_S) as sup:
        client = grpc.InferenceServerClient(server.cfg.grpc_url)
        t0 = time.monotonic()
        for _ in range(5):
            try:
                # an answer takes milliseconds; 30 s without one is a wedge on any host
                client.infer(graph.ensemble.name, [], client_timeout=30)
                outcomes.append("ok")
            except InferenceServerException as e:
                outcomes.append(e.status())
            if outcomes[-1] != "StatusCode.INVALID_ARGUMENT":
                break
        client.close()
        wedged = outcomes[-1] != "StatusCode.INVALID_ARGUMENT"
        if wedged:
            _wait_for(lambda: sup.restarts, SUPERVISED_S + 60, "a restart of the wedged server")
    print(f"empty requests: {outcomes}; restarts: {[(round(r.at - t0, 1), round(r.seconds, 1)) for r in sup.restarts]}")
    # a wedge ends the waiting request with DEADLINE_EXCEEDED, or with UNAVAILABLE when the
    # supervisor's restart (probe deadline 10 s) closes its connection first
    assert set(outcomes) <= {"StatusCode.INVALID_ARGUMENT", "StatusCode.DEADLINE_EXCEEDED",
                             "StatusCode.UNAVAILABLE"}, outcomes
    if wedged:
        assert sup.restarts and sup.restarts[0].seconds > 0, "a wedged server must be restarted"
        back = sup.restarts[0].at + sup.restarts[0].seconds - t0
        print(f"serving again {back:.1f} s after the first empty request")
    with Client(server.cfg.grpc_url, retries=0, timeout=60) as client:
        assert client.predict(text=TEXT).label
