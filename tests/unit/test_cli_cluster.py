"""The commands the Kubernetes chart runs in its pods, through the real CLI."""

from __future__ import annotations

import http.server
import json
import threading

from typer.testing import CliRunner

from mmtriton.cli import app
from mmtriton.serving.server import free_port
CACHE_ARGS = ["--release", "26.10", "--product", "NVIDIA-H100-80GB-HBM3", "--precision", "fp16"]  # built_repo's


def test_publish_then_fetch_through_the_cli(built_repo, tmp_path):
    repo, cache, pod = built_repo(tmp_path), tmp_path / "cache", tmp_path / "pod"
    runner = CliRunner()
    published = runner.invoke(app, ["engine-cache", "publish", "--repository", str(repo), "--cache", str(cache),
                                    *CACHE_ARGS], terminal_width=300)
    assert published.exit_code == 0, published.output
    fetched = runner.invoke(app, ["engine-cache", "fetch", "--to", str(pod), "--cache", str(cache), *CACHE_ARGS],
                            terminal_width=300)
    assert fetched.exit_code == 0, fetched.output
    assert sorted(p.name for p in pod.iterdir()) == sorted(p.name for p in repo.iterdir())


def test_fetch_before_any_build_exits_2_naming_the_job(tmp_path):
    result = CliRunner().invoke(app, ["engine-cache", "fetch", "--to", str(tmp_path / "pod"), "--cache",
                                      str(tmp_path / "cache"), *CACHE_ARGS], terminal_width=300)
    assert result.exit_code == 2 and "engine-build Job" in result.output


class _Triton(http.server.BaseHTTPRequestHandler):
    """Answers an inference like Triton would: with the outputs, or with a dead stub's error;
    /v2/health/live with ``live``."""
    answer: tuple[int, dict] = (200, {})
    live: int = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.live if self.path == "/v2/health/live" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers["Content-Length"]))
        code, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def probe_against(answer: tuple[int, dict], mode: str = "ready", live: int = 200):
    port = free_port()
    handler = type("Handler", (_Triton,), {"answer": answer, "live": live})
    httpd = http.server.HTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        return CliRunner().invoke(app, ["probe", "--mode", mode, "--http-url", f"127.0.0.1:{port}", "--timeout", "5"])
    finally:
        httpd.shutdown()


def test_probe_passes_on_a_real_answer_and_fails_on_a_dead_stub(graph):
    ok = probe_against((200, {"outputs": [{"name": graph.probabilities.name}]}))
    assert ok.exit_code == 0, ok.output
    dead = probe_against((400, {"error": "Stub process 'image_preprocess_0_0' is not healthy."}))
    assert dead.exit_code == 1 and "is not healthy" in dead.output
    empty = probe_against((200, {"outputs": []}))
    assert empty.exit_code == 1 and graph.probabilities.name in empty.output


def test_a_busy_server_is_ready_and_live():
    """Overload must not take pods out of the Service (the load would cascade onto the others)."""
    full = (400, {"error": "Exceeds maximum queue size"})
    assert probe_against(full).exit_code == 0
    assert probe_against(full, mode="live").exit_code == 0


def test_liveness_fails_only_when_not_live_or_a_stub_died(graph):
    dead = (400, {"error": "Stub process 'fusion_0_0' is not healthy."})
    other = (400, {"error": "unexpected inference input 'x'"})
    assert probe_against(dead, mode="live").exit_code == 1
    assert probe_against(other, mode="live").exit_code == 0, "not a reason to restart the container"
    assert probe_against(other).exit_code == 1, "but the pod is not ready"
    not_live = probe_against((200, {"outputs": [{"name": graph.probabilities.name}]}), mode="live", live=503)
    assert not_live.exit_code == 1 and "/v2/health/live" in not_live.output


def test_probe_fails_when_nothing_listens():
    result = CliRunner().invoke(app, ["probe", "--http-url", f"127.0.0.1:{free_port()}", "--timeout", "2"])
    assert result.exit_code == 1 and "probe failed" in result.output
