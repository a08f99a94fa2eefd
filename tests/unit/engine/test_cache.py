"""The chart's engine cache: a build publishes a whole repository under release / GPU product /
precision / ONNX hash, a server pod copies exactly that back; nothing is reused across a retrain."""

from __future__ import annotations

import hashlib

import pytest

from mmtriton.engine.cache import (
    FETCHING, CacheKey, build_id, fetch, files_hash, onnx_hash, product_label, publish, repository_manifests, resolve,
)
from mmtriton.engine.device import DeviceInfo
from mmtriton.errors import EngineError

KEY = CacheKey("26.10", "NVIDIA-H100-80GB-HBM3", "fp16")  # what tests/unit/conftest.py::built_repo builds


def test_the_product_label_is_the_gpu_feature_discovery_spelling():
    assert product_label("NVIDIA H100 80GB HBM3") == "NVIDIA-H100-80GB-HBM3"


def test_the_hash_covers_every_engine_and_changes_with_any_onnx(built_repo, tmp_path):
    one = repository_manifests(built_repo(tmp_path, b"onnx-v1", name="a"))
    same = repository_manifests(built_repo(tmp_path, b"onnx-v1", name="b"))
    other = repository_manifests(built_repo(tmp_path, b"onnx-v2", name="c"))
    expected = hashlib.sha256("".join(f"{m.model}={m.onnx_sha256}\n" for m in sorted(one, key=lambda m: m.model))
                              .encode()).hexdigest()[:16]
    assert onnx_hash(one) == onnx_hash(same) == expected and onnx_hash(other) != expected
    assert onnx_hash(list(reversed(one))) == expected, "order of discovery does not matter"


def test_publish_then_fetch_copies_the_whole_repository(built_repo, tmp_path):
    repo, cache = built_repo(tmp_path), tmp_path / "cache"
    target = publish(repo, cache, KEY)
    build = f"{onnx_hash(repository_manifests(repo))}-{files_hash(repo)}"
    assert target == cache / "26.10" / "NVIDIA-H100-80GB-HBM3" / "fp16" / build
    assert (target.parent / "current").read_text().strip() == target.name
    pod = tmp_path / "pod-models"
    assert fetch(cache, KEY, pod) == target
    copied = sorted(p.relative_to(pod) for p in pod.rglob("*") if p.is_file())
    assert copied == sorted(p.relative_to(repo) for p in repo.rglob("*") if p.is_file())
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".")], "no temporary folder left"


def test_a_retrain_publishes_a_new_hash_and_the_old_one_stays_fetchable(built_repo, tmp_path):
    cache = tmp_path / "cache"
    old = publish(built_repo(tmp_path, b"v1", name="old"), cache, KEY)
    new = publish(built_repo(tmp_path, b"v2", name="new"), cache, KEY)
    assert old != new and resolve(cache, KEY) == new
    assert resolve(cache, KEY, old.name) == old, "a pinned build keeps serving the old engines"
    fetch(cache, KEY, tmp_path / "pinned", old.name)
    plan = next((tmp_path / "pinned").glob("*/1/model.plan"))
    assert plan.read_bytes() == b"plan:v1"


def test_publishing_twice_keeps_the_first_copy(built_repo, tmp_path):
    repo, cache = built_repo(tmp_path), tmp_path / "cache"
    first = publish(repo, cache, KEY)
    marker = first / "kept"
    marker.write_text("x")
    assert publish(repo, cache, KEY) == first and marker.exists()


def test_engines_of_another_product_or_precision_are_not_published_under_this_key(built_repo, tmp_path):
    repo = built_repo(tmp_path, device=DeviceInfo("NVIDIA L4", "8.9", "11.4.0"))
    with pytest.raises(EngineError, match="built on 'NVIDIA L4'.*node selector"):
        publish(repo, tmp_path / "cache", KEY)
    with pytest.raises(EngineError, match="built as fp16, not int8"):
        publish(built_repo(tmp_path, name="r2"), tmp_path / "cache", CacheKey("26.10", KEY.product, "int8"))


def test_fetch_says_which_build_is_missing(built_repo, tmp_path):
    with pytest.raises(EngineError, match="engine-build Job of this pool has not run"):
        fetch(tmp_path / "cache", KEY, tmp_path / "pod")
    publish(built_repo(tmp_path), tmp_path / "cache", KEY)
    with pytest.raises(EngineError, match="no build published deadbeef"):
        fetch(tmp_path / "cache", KEY, tmp_path / "pod", "deadbeef")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(EngineError, match="not empty"):
        fetch(tmp_path / "cache", KEY, tmp_path / "busy")


def test_a_repository_without_engines_is_refused(tmp_path):
    (tmp_path / "empty" / "multimodal").mkdir(parents=True)
    with pytest.raises(EngineError, match="no TensorRT engines"):
        publish(tmp_path / "empty", tmp_path / "cache", KEY)


@pytest.mark.parametrize("part", ["../etc", "a/b", "", " x"])
def test_key_parts_cannot_escape_the_cache(part):
    with pytest.raises(EngineError, match="not a plain name"):
        CacheKey("26.10", part, "fp16")


def test_same_onnx_with_other_configs_is_another_build(built_repo, tmp_path):
    """A new builder image (changed Python models or configs, same ONNX) must reach the servers."""
    a, b = built_repo(tmp_path, name="a"), built_repo(tmp_path, name="b")
    assert build_id(a) == build_id(b)
    (b / "multimodal" / "config.pbtxt").write_text("name: 'multimodal'\nmax_batch_size: 8\n")
    assert build_id(a) != build_id(b)
    assert onnx_hash(repository_manifests(a)) == onnx_hash(repository_manifests(b))
    before = files_hash(a)
    next(a.glob("*/1/model.plan")).write_bytes(b"another build of the same onnx")
    assert files_hash(a) == before, "plan bytes (not reproducible) are not part of the files hash"


def test_a_restarted_fetch_clears_its_own_partial_copy(built_repo, tmp_path):
    cache, pod = tmp_path / "cache", tmp_path / "pod"
    publish(built_repo(tmp_path), cache, KEY)
    pod.mkdir()
    (pod / FETCHING).write_text("interrupted")
    (pod / "half-copied").mkdir()
    fetch(cache, KEY, pod)
    assert not (pod / "half-copied").exists() and not (pod / FETCHING).exists()
    assert (pod / "multimodal" / "config.pbtxt").is_file()


def test_stale_temporary_folders_of_a_killed_build_are_removed(built_repo, tmp_path):
    repo, cache = built_repo(tmp_path), tmp_path / "cache"
    folder = KEY.folder(cache)
    stale = folder / f".{build_id(repo)}.killed"
    stale.mkdir(parents=True)
    publish(repo, cache, KEY)
    assert not stale.exists()
