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
from fault_injection import HANG_SECONDS, HANG_TEXT
from mmtriton_client import Client
from mmtriton_client.errors import DeadlineExceededError

from mmtriton.serving import procinfo
from mmtriton.serving.supervisor import DeepProbe, Supervisor

pytestmark = [pytest.mark.integration, pytest.mark.slow]
TEXT = "the digit 6 written on a card"


@dataclass
class Outcomes:
    """Every request a load thread sent, with how it ended: none may be lost."""

    sent: int = 0
    ok: int = 0
    errors: dict = field(default_factory=dict)  # error class name -> count
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, error: BaseException | None) -> None:
        with self.lock:
            if error is None:
                self.ok += 1
            else:
                name = type(error).__name__
                self.errors[name] = self.errors.get(name, 0) + 1

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


@pytest.fixture()
def committed_policy_server(server, graph, artifacts, tmp_path):
    """The committed serving policy (what `make serve` runs), not the session repository's forced
    batching: the session server is stopped meanwhile (one server at a time on 2 cores) and
    started again afterwards."""
    from mmtriton.bench.servers import write_variant
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    repo = write_variant(graph, tmp_path / "repo", artifacts.onnx("demo"))
    cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       exit_timeout_s=3, work_dir=tmp_path / "work")
    server.stop()
    try:
        with EmbeddedServer(cfg) as private:
            yield private
    finally:
        server.start(timeout_s=180)


def test_overload_rejects_with_a_retriable_error_within_the_queue_timeout(committed_policy_server, graph, artifacts):
    """800 concurrent full (image + audio + text) requests, several seconds of work for 2 cores:
    what waited longer than the queue timeout after preprocessing is refused with UNAVAILABLE
    (retriable) instead of waiting without bound; accepted requests finish; the server stays up."""
    import asyncio

    server = committed_policy_server

    import tritonclient.grpc.aio as grpc_aio

    from mmtriton.data.generate import read_manifest
    from mmtriton.serving.check import payload
    from mmtriton.serving.requests import ensemble_inputs

    folder = artifacts.manifest("test").with_suffix("")
    samples = [s for s in read_manifest(artifacts.manifest("test")) if s.image and s.audio and s.text][:20]
    payloads = [payload(folder, s) for s in samples]
    timeout_s = max(m.batching.queue_timeout_us for m in graph.models) / 1e6

    async def one(client, i: int) -> tuple[str, float, str]:
        t0 = time.monotonic()
        try:
            result = await client.infer(graph.ensemble.name, ensemble_inputs(grpc_aio, graph, **payloads[i % 20]),
                                        client_timeout=120)
            assert result.as_numpy(graph.ensemble.outputs[0].name).shape == (1, len(graph.class_names))
            return "ok", time.monotonic() - t0, ""
        except Exception as e:  # noqa: BLE001
            return e.status() if hasattr(e, "status") else type(e).__name__, time.monotonic() - t0, str(e)

    async def burst(n: int):
        client = grpc_aio.InferenceServerClient(server.cfg.grpc_url)
        try:
            return await asyncio.gather(*(one(client, i) for i in range(n)))
        finally:
            await client.close()

    results = asyncio.run(burst(800))
    ok = [t for s, t, _ in results if s == "ok"]
    rejected = [(t, m) for s, t, m in results if s != "ok"]
    print(f"overload: {len(ok)} served (max {max(ok, default=0):.2f} s), {len(rejected)} refused "
          f"(max {max((t for t, _ in rejected), default=0):.2f} s)")
    assert {s for s, _, _ in results} <= {"ok", "StatusCode.UNAVAILABLE"}, {s for s, _, _ in results}
    assert rejected and len(ok) >= 20, (len(ok), len(rejected))
    assert all("timeout" in m.lower() for _, m in rejected), rejected[:3]
    # refused after at most the timeout in an encoder/fusion queue plus the (unbounded) wait before it
    assert max(t for t, _ in rejected) <= 4 * timeout_s, "refused fast, not after unbounded waiting"
    assert max(ok) <= 6 * timeout_s, "accepted requests are not left waiting without bound"
    assert server.is_ready()
    with Client(server.cfg.grpc_url, retries=0, timeout=10) as client:
        assert client.predict(text=TEXT).label


def test_killed_stub_is_restarted_by_the_deep_probe_and_no_request_is_lost(server, graph):
    victim = next(s for s in procinfo.stubs(server.process.pid) if s.model == graph.text_encoder.name)
    with Supervisor(server, DeepProbe(graph, server.cfg.http_url, timeout_s=5), interval_s=1.0) as sup:
        out, stop, workers = _start_load(server.cfg.grpc_url, threads=3, retries=10, timeout=60)
        time.sleep(2)
        killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        deadline = killed_at + 60
        while not sup.restarts and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sup.restarts, "the supervisor never restarted the server"
        recovered = sup.restarts[0].at + sup.restarts[0].seconds - killed_at
        time.sleep(3)
        ok_before_stop = out.ok
        time.sleep(3)
        _stop_load(stop, workers)
    print(f"stub kill: restart took {sup.restarts[0].seconds:.1f} s, serving again {recovered:.1f} s after the kill; "
          f"{out.sent} requests: {out.ok} ok, errors {out.errors}")
    assert sup.restarts[0].seconds > 0 and recovered <= 30, f"back after {recovered:.1f} s"
    assert out.finished == out.sent, f"lost requests: sent {out.sent}, finished {out.finished}"
    assert out.ok > ok_before_stop, "requests succeed again after the restart"
    assert set(out.errors) <= {"InferenceError", "ServerUnavailableError", "DeadlineExceededError"}, out.errors
    assert server.is_ready()


def test_hung_instance_surfaces_as_deadline_and_the_other_instance_keeps_serving(server, graph):
    """A stuck execute() (heartbeat still alive, so 2.51 does not notice): the client's deadline
    fires, and the model's second instance keeps serving meanwhile."""
    assert graph.text_preprocess.name in {s.model for s in procinfo.stubs(server.process.pid)}
    with Client(server.cfg.grpc_url, retries=0, timeout=2) as client:
        t0 = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.predict(text=HANG_TEXT)
        assert time.monotonic() - t0 < 5
    served = []
    with Client(server.cfg.grpc_url, retries=0, timeout=3) as client:
        while time.monotonic() - t0 < HANG_SECONDS - 2:  # the first instance is still asleep
            served.append(client.predict(text=TEXT).label)
    assert len(served) >= 3
    time.sleep(max(0.0, HANG_SECONDS - (time.monotonic() - t0)) + 1)
    with Client(server.cfg.grpc_url, retries=0, timeout=10) as client:
        assert all(client.predict(text=TEXT).label for _ in range(4)), "both instances serve again"


def test_sigterm_under_load_drains_refuses_new_requests_and_cleans_shared_memory(server, graph):
    pid = server.process.pid
    stubs = procinfo.stubs(pid)
    regions = {s.shm_region for s in stubs}
    assert regions and regions <= set(procinfo.shm_regions())
    out, stop, workers = _start_load(server.cfg.grpc_url, threads=3, retries=0, timeout=30)
    time.sleep(2)
    ok_before = out.ok
    t0 = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(server.cfg.exit_timeout_s + 30)
    exited_after = time.monotonic() - t0
    time.sleep(1)
    _stop_load(stop, workers)
    print(f"SIGTERM: exited after {exited_after:.1f} s; {out.sent} requests: {out.ok} ok, errors {out.errors}")
    try:
        assert ok_before > 0
        assert exited_after <= server.cfg.exit_timeout_s + 10, f"exit took {exited_after:.1f} s"
        assert out.finished == out.sent, "every request ended (result or error)"
        assert set(out.errors) <= {"ServerUnavailableError"}, f"in-flight requests must complete: {out.errors}"
        assert out.errors, "requests after SIGTERM are refused"
        # the stubs finish after the server (measured: up to 2 s); the server unlinks their regions
        waited = procinfo.wait_exited(stubs, timeout_s=15)
        print(f"stubs exited {waited:.1f} s after the server")
        assert not regions & set(procinfo.shm_regions()), "shared-memory regions left in /dev/shm"
    finally:
        server.stop()
        server.start(timeout_s=180)
    assert server.is_ready()


def test_request_without_any_input_is_refused_or_the_supervisor_restores_service(server, graph):
    """All ensemble inputs are optional, so an empty request reaches the three preprocessing steps
    with zero inputs and all three fail at once; 2.51 then wedged within 1 to 3 such requests
    (model_repository/README.md, "Requests without any input"). The SDK refuses to send one; a
    raw client gets INVALID_ARGUMENT, or, once the server wedges, the supervisor restarts it."""
    import tritonclient.grpc as grpc
    from tritonclient.utils import InferenceServerException

    outcomes = []
    with Supervisor(server, DeepProbe(graph, server.cfg.http_url, timeout_s=3), interval_s=1.0) as sup:
        client = grpc.InferenceServerClient(server.cfg.grpc_url)
        t0 = time.monotonic()
        for _ in range(5):
            try:
                client.infer(graph.ensemble.name, [], client_timeout=5)
                outcomes.append("ok")
            except InferenceServerException as e:
                outcomes.append(e.status())
            if outcomes[-1] != "StatusCode.INVALID_ARGUMENT":
                break
        client.close()
        while outcomes[-1] == "StatusCode.DEADLINE_EXCEEDED" and not sup.restarts and time.monotonic() - t0 < 90:
            time.sleep(0.2)
    print(f"empty requests: {outcomes}; restarts: {[(round(r.at - t0, 1), round(r.seconds, 1)) for r in sup.restarts]}")
    assert set(outcomes) <= {"StatusCode.INVALID_ARGUMENT", "StatusCode.DEADLINE_EXCEEDED"}, outcomes
    if "StatusCode.DEADLINE_EXCEEDED" in outcomes:
        assert sup.restarts and sup.restarts[0].seconds > 0, "a wedged server must be restarted"
        back = sup.restarts[0].at + sup.restarts[0].seconds - t0
        assert back <= 60, f"serving again {back:.1f} s after the first empty request"
    with Client(server.cfg.grpc_url, retries=0, timeout=10) as client:
        assert client.predict(text=TEXT).label
