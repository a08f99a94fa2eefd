"""Shared fixtures: the demo spec graph and one Preprocessor (tokenizer + mel bank built once)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def graph():
    from mmtriton.spec import get_graph

    return get_graph("demo")


@pytest.fixture(scope="session")
def preprocessor(graph):
    from mmtriton.preprocess import Preprocessor

    return Preprocessor(graph)


@pytest.fixture(scope="session")
def artifacts():
    """The reference data set, model and ONNX files in ``artifacts/`` (made on first use, then
    reused, exactly like ``make demo``); shared by the integration and gpu tests."""
    from mmtriton.paths import Artifacts
    from mmtriton.workflows import ensure_model

    art = Artifacts.default()
    ensure_model(art, "demo")
    return art
