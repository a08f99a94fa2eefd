"""``mmtriton-client`` against the real server: output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mmtriton.data.generate import read_manifest
from mmtriton.serving.server import free_port

pytestmark = pytest.mark.integration
CLI = str(Path(sys.executable).parent / "mmtriton-client")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "predict", *args], capture_output=True, text=True, timeout=120)


def test_single_prediction_json_and_table(server, artifacts, graph):
    folder = artifacts.manifest("test").with_suffix("")
    s = next(r for r in read_manifest(artifacts.manifest("test")) if r.image_state == "clean" and r.text_state == "informative")
    out = run("--url", server.cfg.grpc_url, "--image", str(folder / s.image), "--text", s.text, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["label"] == graph.class_names[s.label]
    table = run("--url", server.cfg.http_url, "--protocol", "http", "--text", s.text)
    assert table.returncode == 0 and graph.class_names[s.label] in table.stdout


def test_top_k_prints_the_servers_ranking(server, artifacts, graph):
    """``--top-k``: Triton's classification extension ranks the classes; JSON and the table show it."""
    folder = artifacts.manifest("test").with_suffix("")
    s = next(r for r in read_manifest(artifacts.manifest("test")) if r.image_state == "clean")
    out = run("--url", server.cfg.grpc_url, "--image", str(folder / s.image), "--top-k", "4", "--json")
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert "probabilities" not in row and len(row["top_k"]) == 4
    assert [e["label"] for e in row["top_k"]] == [graph.class_names[e["index"]] for e in row["top_k"]]
    assert row["top_k"][0]["label"] == row["label"] and row["confidence"] == row["top_k"][0]["score"]
    table = run("--url", server.cfg.http_url, "--protocol", "http", "--image", str(folder / s.image), "--top-k", "2")
    assert table.returncode == 0 and "top2: " + row["top_k"][0]["label"] in table.stdout, table.stdout


def test_exit_codes(server):
    assert run("--url", server.cfg.grpc_url, "--text", "").returncode == 2
    assert run("--url", server.cfg.grpc_url, "--image", "/nonexistent.png").returncode == 2
    assert run("--url", f"127.0.0.1:{free_port()}", "--text", "seven", "--timeout", "3").returncode == 3


def test_folder_and_manifest_modes_stream_results(server, artifacts, tmp_path):
    folder = artifacts.manifest("test").with_suffix("")
    rows = [r for r in read_manifest(artifacts.manifest("test")) if r.image and r.audio and r.text][:6]
    for r in rows:
        shutil.copy(folder / r.image, tmp_path / r.image)
        shutil.copy(folder / r.audio, tmp_path / r.audio)
        (tmp_path / f"{r.id}.txt").write_text(r.text)
    out = run("--url", server.cfg.grpc_url, "--folder", str(tmp_path), "--json")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["id"] for x in lines] == [r.id for r in rows]
    assert all(x["modalities"] == ["image", "audio", "text"] for x in lines)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": r.id, "image": r.image, "text": r.text}) + "\n" for r in rows)
                        + json.dumps({"id": "bad", "image": rows[0].audio}) + "\n")
    out = run("--url", server.cfg.grpc_url, "--manifest", str(manifest), "--json")
    assert out.returncode == 2  # one row is an audio file sent as an image
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert len(lines) == len(rows) + 1 and "error" in lines[-1] and "7/7 done" in out.stderr


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_the_demo_requests_go_through_the_client_cli(server, artifacts, graph, tmp_path, protocol):
    """`make demo` sends its samples with `mmtriton-client predict --manifest` (the core never
    imports the SDK): one row per modality subset, each answered, in order."""
    from mmtriton.serving.demo import client_predictions, write_demo_manifest
    from mmtriton.spec import SUBSETS

    rows = write_demo_manifest(artifacts, tmp_path / "demo.jsonl")
    url = server.cfg.grpc_url if protocol == "grpc" else server.cfg.http_url
    predictions = client_predictions(url, protocol, tmp_path / "demo.jsonl")
    assert [subset for _, subset in rows] == list(SUBSETS)
    assert [p["id"] for p in predictions] == [str(i) for i in range(len(rows))]
    for (_, subset), p in zip(rows, predictions):
        assert set(p["modalities"]) == set(subset) and p["label"] in graph.class_names
