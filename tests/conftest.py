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
