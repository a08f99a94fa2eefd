"""A user's own data set, end to end: a folder written here with three non-digit classes and rows
missing modalities goes through validate -> train -> export -> repository -> embedded Triton ->
client SDK, and every answer carries the user's label names. Its own artifacts, repository and
server; runs before the session server starts (conftest orders it first)."""

from __future__ import annotations

import secrets

import pytest
import tritonclient.grpc as grpc
from user_datasets import CLASSES, write_shapes

from mmtriton import workflows as wf
from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.paths import Artifacts
from mmtriton.serving.requests import ensemble_inputs
from mmtriton_client import Client

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from mmtriton.training.loop import TrainConfig

    folder = tmp_path_factory.mktemp("data") / "shapes"
    write_shapes(folder)
    art = Artifacts(tmp_path_factory.mktemp("art"))
    wf.ensure_data(art, dataset=folder)
    metrics = wf.ensure_trained(art, "demo", TrainConfig(epochs=12, patience=12))
    parity = wf.ensure_exported(art, "demo")
    repo = wf.build_repository(art, "demo", "embedded", out=tmp_path_factory.mktemp("repo"))
    return art, folder, metrics, parity, repo


@pytest.fixture(scope="module")
def server(trained, tmp_path_factory):
    from mmtriton.serving.process import EmbeddedServer
    from mmtriton.serving.server import ServerConfig, free_port

    art, *_, repo = trained
    wf.check_served_model(art, "demo", repo)  # the repository is the current checkpoint's
    cfg = ServerConfig(repo, http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(),
                       exit_timeout_s=3, work_dir=tmp_path_factory.mktemp("triton"), admin_key=secrets.token_urlsafe(16))
    srv = EmbeddedServer(cfg).start(timeout_s=300)
    yield srv
    srv.stop()


def test_training_records_the_users_classes_and_learns_them(trained):
    art, folder, metrics, parity, _ = trained
    assert metrics["class_names"] == sorted(CLASSES)
    assert metrics["data_fingerprint"] == wf.check_dataset(folder, decode=False).fingerprint
    assert parity["passed"] and metrics["test"]["fused"] >= 0.8, metrics["test"]


def test_the_served_model_answers_with_the_users_labels(trained, server):
    art = trained[0]
    graph = wf.trained_graph(art, "demo")
    rows = read_manifest(art.manifest("test"))
    right = 0
    with Client(server.cfg.grpc_url, protocol="grpc") as client:
        assert client.info.class_names == tuple(sorted(CLASSES))
        for s in rows:
            p = client.predict(**payload(art.manifest("test").with_suffix(""), s))
            assert p.label in CLASSES and p.class_names == tuple(sorted(CLASSES))
            right += p.label == graph.class_names[s.label]
    assert right >= 0.8 * len(rows), f"{right}/{len(rows)}"


def test_the_classification_extension_names_the_users_classes(trained, server):
    art = trained[0]
    graph = wf.trained_graph(art, "demo")
    client = grpc.InferenceServerClient(server.cfg.grpc_url)
    s = next(r for r in read_manifest(art.manifest("test")) if r.text)
    inputs = ensemble_inputs(grpc, graph, text=s.text)
    result = client.infer(graph.ensemble.name, inputs,
                          outputs=[grpc.InferRequestedOutput(graph.probabilities.name, class_count=3)])
    labels = [e.decode().split(":", 2)[2] for e in result.as_numpy(graph.probabilities.name).reshape(-1)]
    assert sorted(labels) == sorted(CLASSES)
    client.close()


def test_a_repository_from_another_checkpoint_is_refused(trained, tmp_path):
    """Retraining on changed data makes the written repository stale: serving it is refused."""
    import json

    from mmtriton.errors import RepositoryError

    art, folder, *_, repo = trained
    other = Artifacts(tmp_path / "art")
    other.run("demo").mkdir(parents=True)
    other.checkpoint("demo").write_bytes(art.checkpoint("demo").read_bytes() + b"retrained")
    metrics = json.loads(art.metrics("demo").read_text())
    other.metrics("demo").write_text(json.dumps({**metrics, "data_fingerprint": "0" * 64}))
    with pytest.raises(RepositoryError, match="trained on data"):
        wf.check_served_model(other, "demo", repo)
    other.metrics("demo").write_text(json.dumps(metrics))
    with pytest.raises(RepositoryError, match="another checkpoint"):
        wf.check_served_model(other, "demo", repo)
