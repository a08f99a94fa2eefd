"""The client SDK against the real embedded Triton: both protocols, sync and async."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import soundfile as sf
import tritonclient.grpc as grpc

from mmtriton.data.generate import read_manifest
from mmtriton.data.payloads import payload
from mmtriton.serving.requests import ensemble_inputs, ensemble_outputs
from mmtriton.serving.server import free_port
from mmtriton_client import (
    AsyncClient, Client, DeadlineExceededError, InvalidInputError, ServerUnavailableError,
)

pytestmark = pytest.mark.integration
PROTOCOLS = ("grpc", "http")


@pytest.fixture(scope="module")
def samples(artifacts):
    folder = artifacts.manifest("test").with_suffix("")
    rows = [s for s in read_manifest(artifacts.manifest("test")) if s.image_state == "clean"
            and s.audio_state == "clean" and s.text_state == "informative"]
    return folder, rows


def url(server, protocol: str) -> str:
    return server.cfg.grpc_url if protocol == "grpc" else server.cfg.http_url


def _files(folder, s) -> dict:
    return {"image": str(folder / s.image), "audio": str(folder / s.audio), "text": s.text}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_predict_with_every_input_form(server, samples, graph, protocol):
    folder, rows = samples
    s = rows[0]
    with Client(url(server, protocol), protocol=protocol) as client:
        assert client.is_ready()
        assert client.metadata()
        from PIL import Image

        audio, rate = sf.read(folder / s.audio, dtype="float32")
        forms = [_files(folder, s),
                 {"image": (folder / s.image).read_bytes(), "audio": (folder / s.audio).read_bytes(), "text": s.text},
                 {"image": open(folder / s.image, "rb"), "audio": (audio, rate), "text": s.text},
                 {"image": Image.open(folder / s.image), "text": s.text}]
        for form in forms:
            p = client.predict(**form)
            assert p.label == graph.class_names[s.label]
            assert abs(float(p.probabilities.sum()) - 1) < 1e-4 and p.fused_embedding.shape == (graph.preset.fused_dim,)
        assert client.predict(text=s.text).modalities == ("text",)
        emb = client.embed(**_files(folder, s))
        assert set(emb.per_modality) == {"image", "audio", "text"} and emb.fused.shape == (graph.preset.fused_dim,)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_top_k_comes_ranked_from_the_server(server, samples, graph, protocol):
    folder, rows = samples
    with Client(url(server, protocol), protocol=protocol) as client:
        full = client.predict(**_files(folder, rows[0]))
        ranked = client.predict(**_files(folder, rows[0]), top_k=3)
    assert ranked.probabilities is None and len(ranked.ranked) == 3
    best = np.argsort(-full.probabilities)[:3]
    assert [c.index for c in ranked.ranked] == list(best)
    assert [c.label for c in ranked.ranked] == [graph.class_names[i] for i in best]
    assert ranked.label == full.label and abs(ranked.confidence - full.confidence) <= 5e-7
    assert np.array_equal(ranked.fused_embedding, full.fused_embedding)
    with Client(url(server, protocol), protocol=protocol) as client, pytest.raises(InvalidInputError, match="top_k"):
        client.predict(text="seven", top_k=len(graph.class_names) + 1)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_missing_modalities_and_batch_of_32_in_flight(server, samples, protocol):
    folder, rows = samples
    items = []
    for s in rows[:64]:
        f = _files(folder, s)
        items += [f, {"image": f["image"]}, {"audio": f["audio"], "text": f["text"]}]
    with Client(url(server, protocol), protocol=protocol) as client:
        results = client.predict_batch(items, max_in_flight=32)
    assert [r.index for r in results] == list(range(len(items)))
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert results[1].prediction.modalities == ("image",)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_batch_reports_per_item_errors(server, samples, protocol):
    folder, rows = samples
    items = [_files(folder, rows[0]), {"image": b"not an image at all"}, {"text": rows[1].text}]
    with Client(url(server, protocol), protocol=protocol) as client:
        results = client.predict_batch(items)
    assert results[0].ok and results[2].ok
    assert isinstance(results[1].error, InvalidInputError) and "not a decodable image" in str(results[1].error)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_async_client_matches_sync(server, samples, protocol):
    folder, rows = samples

    async def run():
        async with AsyncClient(url(server, protocol), protocol=protocol) as client, \
                AsyncClient(url(server, protocol), protocol=protocol, preprocess="client") as local:
            await client.wait_until_ready(timeout=10)
            assert await client.metadata()
            emb = await client.embed(**_files(folder, rows[0]))
            assert set(emb.per_modality) == {"image", "audio", "text"}
            single = await client.predict(**_files(folder, rows[0]))
            local_single = await local.predict(**_files(folder, rows[0]))
            assert np.max(np.abs(single.probabilities - local_single.probabilities)) <= 1e-5
            with pytest.raises(DeadlineExceededError):
                await client.predict(**_files(folder, rows[0]), timeout=0.0005)
            batch = await client.predict_batch([_files(folder, s) for s in rows[:32]], max_in_flight=32)
            with pytest.raises(InvalidInputError, match="not a decodable image"):
                await client.predict(image=b"\x89PNG broken")
            return single, batch

    single, batch = asyncio.run(run())
    with Client(url(server, protocol), protocol=protocol) as client:
        ref = client.predict(**_files(folder, rows[0]))
    assert np.max(np.abs(single.probabilities - ref.probabilities)) <= 1e-6
    assert all(r.ok for r in batch)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_client_side_preprocessing_equals_bytes_path(server, samples, protocol):
    folder, rows = samples
    with Client(url(server, protocol), protocol=protocol) as remote, \
            Client(url(server, protocol), protocol=protocol, preprocess="client") as local:
        for s in rows[:5]:
            for form in (_files(folder, s), {"audio": _files(folder, s)["audio"]}, {"text": s.text}):
                a, b = remote.predict(**form), local.predict(**form)
                assert np.max(np.abs(a.probabilities - b.probabilities)) <= 1e-5
                assert np.max(np.abs(a.fused_embedding - b.fused_embedding)) <= 1e-5


def test_sdk_equals_official_tritonclient(server, grpc_client, samples, graph):
    folder, rows = samples
    with Client(server.cfg.grpc_url) as client:
        for s in rows[:5]:
            ours = client.predict(**_files(folder, s))
            ref = ensemble_outputs(grpc_client.infer(graph.ensemble.name, ensemble_inputs(grpc, graph, **payload(folder, s))), graph)
            assert np.array_equal(ours.probabilities, ref[graph.ensemble.outputs[0].name][0])
            assert np.array_equal(ours.fused_embedding, ref[graph.ensemble.outputs[2].name][0])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_invalid_input_carries_the_server_message_and_is_not_retried(server, protocol):
    with Client(url(server, protocol), protocol=protocol, retries=5) as client:
        with pytest.raises(InvalidInputError, match="not a decodable audio"):
            client.predict(audio=b"RIFF....WAVEfmt garbage" * 10)
        with pytest.raises(InvalidInputError, match="accepts at most"):
            client.predict(text="x" * (int(client.info.limits["text_bytes"]) + 1))
        with pytest.raises(InvalidInputError, match="characters; the server accepts at most"):
            client.predict(text="é" * (int(client.info.limits["text_chars"]) + 1))


def test_local_validation_happens_before_any_network_call():
    with Client(f"127.0.0.1:{free_port()}", retries=0, timeout=2) as client:
        for bad in ({"text": ""}, {}, {"image": b""}, {"video": b"x"}, {"text": "   "}):
            with pytest.raises(InvalidInputError):
                client.predict(**bad)
        with pytest.raises(ServerUnavailableError):
            client.predict(text="seven")


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_short_deadline_raises_deadline_exceeded(server, samples, protocol):
    folder, rows = samples
    with Client(url(server, protocol), protocol=protocol, timeout=30) as client:
        client.info  # noqa: B018 - config fetched; now only the inference has the tiny deadline
        with pytest.raises(DeadlineExceededError):
            client.predict(**_files(folder, rows[0]), timeout=0.0005)


def test_retry_reaches_a_server_that_starts_late(server, samples):
    """Stop the session's server, ask, and start it again 3 s later: the call must succeed."""
    import threading

    folder, rows = samples
    server.stop()
    restart = threading.Timer(3.0, lambda: server.start(timeout_s=300))
    restart.start()
    try:
        # bounded by time only (a loaded host may need minutes to start), not by a retry count
        with Client(server.cfg.grpc_url, retries=10_000, timeout=360) as client:
            client._info = None
            p = client.predict(text=rows[0].text)
        assert p.label
    finally:
        restart.join()
    assert server.is_ready(), "the late start itself succeeded"
