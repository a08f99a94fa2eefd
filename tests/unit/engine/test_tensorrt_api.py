"""Every TensorRT name the engine code uses exists in the TensorRT 11.4 Python bindings and in the
newest 10.x ones. The wheels (`tensorrt-cu13-bindings`, `tensorrt-cu12-bindings`, from PyPI via
scripts/deploy-tools.sh) hold the extension module but not its CUDA libraries, so it cannot be
imported here: the names are read from its string table instead. pybind11 registers every class,
method, attribute and enum member by a C string, and the linker merges a string into the tail of
a longer one that ends with it, so a name is defined when some NUL-terminated string ends with it.
"""

from __future__ import annotations

import ast
import re
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
WHEELS = ROOT / ".tools" / "wheels"
BINDINGS = {"11.4": "tensorrt_cu13_bindings-11.4.0.106-*.whl", "10.16": "tensorrt_cu12_bindings-10.16.1.11-*.whl"}
ENGINE_CODE = [ROOT / "mmtriton" / "engine" / "trt_build.py", ROOT / "mmtriton" / "engine" / "runner.py"]
# Variables that hold TensorRT objects in that code (self.<name> too); everything reached from them
# by attribute access is a TensorRT name.
TRT_OBJECTS = {"trt", "builder", "config", "network", "parser", "profile", "engine", "context", "cache", "serialized"}
# Removed in TensorRT 11 (weak typing and implicit quantisation): the engine code must not use them.
REMOVED_IN_11 = ("FP16", "EXPLICIT_BATCH", "int8_calibrator", "set_calibration_profile", "IInt8EntropyCalibrator2")


@lru_cache(maxsize=None)
def strings(version: str) -> tuple[bytes, ...]:
    found = sorted(WHEELS.glob(BINDINGS[version]))
    if not found:
        pytest.fail(f"{WHEELS}/{BINDINGS[version]} is missing: run `make setup` (scripts/deploy-tools.sh)")
    with zipfile.ZipFile(found[0]) as wheel:
        data = wheel.read("tensorrt_bindings/tensorrt.so")
    return tuple(s for s in data.split(b"\0") if re.fullmatch(rb"[A-Za-z0-9_]+", s))


def defined(version: str, name: str) -> bool:
    return any(s.endswith(name.encode()) for s in strings(version))


def _root_and_names(node: ast.AST) -> tuple[str | None, list[str]]:
    """For a.b(x).c: ("a", ["b", "c"]); calls and subscripts in the chain are stepped through."""
    names = []
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, (ast.Call, ast.Subscript)):
            node = node.func if isinstance(node, ast.Call) else node.value
        elif isinstance(node, ast.Name):
            names.reverse()
            if node.id == "self" and names and names[0] in TRT_OBJECTS:
                return names[0], names[1:]
            return node.id, names
        else:
            return None, []


def used_names(path: Path) -> set[str]:
    """TensorRT attribute names the module reaches, including getattr(obj, "NAME", default)."""
    tree, out = ast.parse(path.read_text()), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and not isinstance(getattr(node, "parent", None), ast.Attribute):
            root, names = _root_and_names(node)
            if root in TRT_OBJECTS:
                out.update(names)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            root, _ = _root_and_names(node.args[0])
            if root in TRT_OBJECTS:
                out.add(node.args[1].value)
    return out


def engine_names() -> set[str]:
    names = set().union(*(used_names(p) for p in ENGINE_CODE))
    assert {"create_network", "OnnxParser", "set_memory_pool_limit", "STRONGLY_TYPED", "TF32",
            "execute_async_v3"} <= names, "the collector finds the calls it must check"
    return names


@pytest.mark.parametrize("version", sorted(BINDINGS))
def test_every_tensorrt_name_the_engine_code_uses_exists(version):
    missing = sorted(n for n in engine_names() if not defined(version, n))
    assert missing == [], f"TensorRT {version} bindings lack {missing}"


def test_the_reader_sees_what_tensorrt_11_removed():
    """The check above can fail: 10.16 defines the weak-typing API, 11.4 does not."""
    assert all(defined("10.16", n) for n in REMOVED_IN_11)
    assert not any(defined("11.4", n) for n in REMOVED_IN_11)


def test_the_engine_code_uses_nothing_tensorrt_11_removed():
    assert not set(REMOVED_IN_11) & engine_names()
