"""Served = offline, measured: every held-out test sample through the embedded Triton ensemble
vs the PyTorch pipeline on the same bytes, plus served accuracy for every modality subset.

Usage: .venv/bin/python benchmarks/served_vs_offline.py   (prints JSON; ~2 min on 2 cores)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tritonclient.grpc as grpc

from mmtriton.data.generate import read_manifest
from mmtriton.paths import Artifacts
from mmtriton.preprocess import Preprocessor
from mmtriton.serving.check import agreement, offline_probabilities, served_outputs, subset_accuracy
from mmtriton.serving.process import EmbeddedServer
from mmtriton.serving.server import ServerConfig, free_port
from mmtriton.training.checkpoint import load_model


def main(preset: str = "demo") -> None:
    art = Artifacts.default()
    model, graph, _ = load_model(art.checkpoint(preset))
    folder, samples = art.manifest("test").with_suffix(""), read_manifest(art.manifest("test"))
    cfg = ServerConfig(Path("model_repository"), http_port=free_port(), grpc_port=free_port(),
                       metrics_port=free_port(), work_dir=art.root / "triton")
    with EmbeddedServer(cfg):
        client = grpc.InferenceServerClient(cfg.grpc_url)
        served = np.concatenate([o["probabilities"] for o in served_outputs(client, grpc, graph, folder, samples)])
        subsets = subset_accuracy(client, grpc, graph, folder, samples)
        client.close()
    offline = offline_probabilities(model, Preprocessor(graph), folder, samples)
    print(json.dumps({"served_vs_offline": agreement(served, offline), "served_accuracy_by_subset": subsets}, indent=2))


if __name__ == "__main__":
    main()
