"""Report identity comes from the measured server's own configs, not from the benchmark machine."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mmtriton_bench.identity import identify, server_runs_on_gpu


def _serve(configs: dict):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            name = self.path.split("/")[3] if self.path.startswith("/v2/models/") else None
            body = configs.get(name) if name else {"name": "triton", "version": "9.99.0"}
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(json.dumps(body or {"error": "unknown model"}).encode())

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"127.0.0.1:{httpd.server_address[1]}"


@pytest.mark.parametrize("config,gpu", [
    ({"platform": "tensorrt_plan", "instance_group": [{"kind": "KIND_GPU"}]}, True),
    ({"backend": "onnxruntime", "instance_group": [{"kind": "KIND_GPU", "count": 1}]}, True),
    ({"backend": "python", "instance_group": [{"kind": "KIND_CPU", "count": 2}]}, False),
])
def test_the_server_configs_decide_gpu_or_cpu(config, gpu):
    httpd, url = _serve({"image_encoder": config})
    try:
        assert server_runs_on_gpu(url, ["image_encoder", "missing_model"]) is gpu
        ident = identify(url, ["image_encoder"])
        assert ident.gpu is gpu and ident.server == "triton 9.99.0"
        if not gpu:
            assert ident.device.startswith("CPU: "), "a local CPU server is this machine's CPU"
    finally:
        httpd.shutdown()


def test_an_unreachable_server_is_not_called_a_gpu():
    assert server_runs_on_gpu("127.0.0.1:9", ["fusion"]) is False
