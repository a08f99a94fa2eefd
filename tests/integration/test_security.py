"""The development server's locked-down surface: model-repository, shared-memory, statistics,
trace and logging need the admin key (HTTP 403 / gRPC UNAVAILABLE without it); inference,
health and metadata stay open; load/unload is refused; the key never reaches the log."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import tritonclient.grpc as grpc
from tritonclient.utils import InferenceServerException

pytestmark = pytest.mark.integration
GRPC_PREFIX = "triton-grpc-protocol-"


def _http(server, method: str, path: str, headers: dict | None = None) -> int:
    req = urllib.request.Request(f"http://{server.cfg.http_url}{path}", method=method, headers=headers or {},
                                 data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


RESTRICTED_HTTP = [("GET", "/v2/models/stats"), ("POST", "/v2/repository/index"), ("GET", "/v2/logging"),
                   ("GET", "/v2/trace/setting"), ("GET", "/v2/systemsharedmemory/status"),
                   ("GET", "/v2/cudasharedmemory/status")]


@pytest.mark.parametrize("method,path", RESTRICTED_HTTP)
def test_http_restricted_apis_need_the_key(server, method, path):
    assert _http(server, method, path) == 403
    assert _http(server, method, path, {"admin-key": "wrong"}) == 403
    assert _http(server, method, path, server.cfg.admin_headers) == 200


def test_http_inference_health_and_metadata_stay_open(server, graph):
    assert _http(server, "GET", "/v2/health/ready") == 200
    assert _http(server, "GET", "/v2/health/live") == 200
    assert _http(server, "GET", f"/v2/models/{graph.ensemble.name}") == 200
    assert _http(server, "GET", f"/v2/models/{graph.ensemble.name}/config") == 200


def test_grpc_restricted_apis_need_the_key_as_metadata(server, graph):
    key = {GRPC_PREFIX + k: v for k, v in server.cfg.admin_headers.items()}
    client = grpc.InferenceServerClient(server.cfg.grpc_url)
    try:
        for call in (lambda **kw: client.get_inference_statistics(graph.ensemble.name, **kw),
                     lambda **kw: client.get_model_repository_index(**kw),
                     lambda **kw: client.get_system_shared_memory_status(**kw),
                     lambda **kw: client.get_log_settings(**kw)):
            with pytest.raises(InferenceServerException) as e:
                call()
            assert e.value.status() == "StatusCode.UNAVAILABLE"
            call(headers=key)
        assert client.is_server_ready() and client.get_model_metadata(graph.ensemble.name)
    finally:
        client.close()


def test_model_control_is_off_even_with_the_key(server, graph):
    status = _http(server, "POST", f"/v2/repository/models/{graph.ensemble.name}/unload", server.cfg.admin_headers)
    assert status >= 400
    assert _http(server, "GET", "/v2/health/ready") == 200


def test_the_key_is_never_logged(server):
    log = server.log_path.read_text(errors="replace")
    assert server.cfg.admin_key and server.cfg.admin_key not in log
