"""The served reference model on real handwriting and real speech, as a user's client sends it.

metrics.json's ``real`` figures run the PyTorch pipeline in the training process; a user sends
files to the server. This starts the embedded Triton on the built repository (`make demo` first),
sends every real source of ``mmtriton.training.real_eval`` through the ensemble with the plain
``tritonclient`` (gRPC, one file per request, eight in flight) and prints served top-1 beside
the checkpoint's own figure. Each MNIST image is also sent as a phone would: a 640x480 JPEG
with the digit small and off-centre on grey paper, and again from further away (the digit a
sixth to a quarter of the photo's height); ``--no-photos`` leaves both out.

Usage: .venv/bin/python benchmarks/served_real.py [--preset demo]   (prints JSON; ~3 min on 2 cores)
"""

from __future__ import annotations

import argparse
import io
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpc
from PIL import Image

from mmtriton.data import real
from mmtriton.paths import Artifacts
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.requests import ensemble_inputs, ensemble_outputs
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.spec.graph import ModelGraph
from mmtriton.training.checkpoint import load_model
from mmtriton.training.real_eval import LOAD_ERRORS, real_sources


PHOTO_SIDES = {"mnist-photographed": (120, 220), "mnist-photographed-far": (80, 120)}  # px of 480


def photographed(png: bytes, rng: np.random.Generator, sides: tuple[int, int]) -> bytes:
    """A scanned digit as a phone photo of a page: small (its 28 px frame ``sides`` px of the
    photo's 480), off-centre, on uneven grey paper."""
    digit = Image.open(io.BytesIO(png)).convert("L")
    side = int(rng.integers(*sides))
    page = np.full((480, 640), rng.uniform(150, 230), np.float32) * np.linspace(0.85, 1.0, 640)[None, :]
    ink = 1.0 - np.asarray(digit.resize((side, side), Image.BILINEAR), np.float32) / 255.0
    x, y = int(rng.integers(40, 640 - side - 40)), int(rng.integers(40, 480 - side - 40))
    page[y:y + side, x:x + side] *= 1.0 - 0.85 * ink
    page += rng.normal(0, 4, page.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def served_top1(client: grpc.InferenceServerClient, graph: ModelGraph, labels: np.ndarray,
                images: list[bytes] | None, clips: list[bytes] | None) -> float:
    """Top-1 of the ensemble's ``label`` over one request per sample."""
    def one(i: int) -> int:
        inputs = ensemble_inputs(grpc, graph, image=images[i] if images else None, audio=clips[i] if clips else None)
        return int(ensemble_outputs(client.infer(graph.ensemble.name, inputs), graph)["label"][0, 0])

    with ThreadPoolExecutor(8) as pool:
        predicted = np.asarray(list(pool.map(one, range(len(labels)))))
    return round(float(np.mean(predicted == labels)), 4)


def _report(client: grpc.InferenceServerClient, graph: ModelGraph, cache: Path, photos: bool) -> dict:
    report = {}
    for name, load in real_sources(cache).items():
        try:
            data = load()
        except LOAD_ERRORS as e:
            report[name] = {"skipped": str(e)[:200]}
            continue
        images, clips = getattr(data, "images", None), getattr(data, "clips", None)
        report[name] = {"served_top1": served_top1(client, graph, data.labels, images, clips), "samples": len(data.labels)}
        if photos and name == "mnist":
            for photo, sides in PHOTO_SIDES.items():
                rng = np.random.default_rng(0)
                shots = [photographed(b, rng, sides) for b in images]
                report[photo] = {"served_top1": served_top1(client, graph, data.labels, shots, None), "samples": len(shots)}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--no-photos", action="store_true")
    args = parser.parse_args()
    art = Artifacts.default()
    _, graph, _ = load_model(art.checkpoint(args.preset))
    offline = json.loads(art.metrics(args.preset).read_text()).get("real", {})
    cfg = ServerConfig(Path("model_repository"), http_port=free_port(), grpc_port=free_port(),
                       metrics_port=free_port(), work_dir=art.root / "triton")
    with EmbeddedServer(cfg):
        client = grpc.InferenceServerClient(cfg.grpc_url)
        report = _report(client, graph, art.root / "real", not args.no_photos)
        client.close()
    for name, row in report.items():
        row["checkpoint_top1"] = next((v for k, v in offline.get(name, {}).items() if k.endswith(("_only", "_audio"))), None)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
