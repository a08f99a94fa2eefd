"""procinfo reads real /proc and /dev/shm; these tests use real processes and a real region file."""

from __future__ import annotations

import subprocess
import uuid

import pytest

from mmtriton.serving import procinfo


@pytest.fixture
def region():
    path = procinfo.SHM / f"{procinfo.SHM_PREFIX}test-{uuid.uuid4()}"
    path.write_bytes(b"\0" * 16)
    yield path
    path.unlink(missing_ok=True)


def test_waits_until_the_stub_process_exited():
    proc = subprocess.Popen(["sleep", "0.4"])
    waited = procinfo.wait_exited([procinfo.Stub(proc.pid, "m_0_0", "m", "")], timeout_s=10)
    proc.wait()
    assert 0.3 <= waited < 10


def test_a_stub_that_keeps_running_is_reported_after_the_timeout():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(TimeoutError, match=str(proc.pid)):
            procinfo.wait_exited([procinfo.Stub(proc.pid, "m_0_0", "m", "")], timeout_s=0.3)
    finally:
        proc.kill()
        proc.wait()


def test_a_zombie_counts_as_exited():
    proc = subprocess.Popen(["true"])
    assert procinfo.wait_exited([procinfo.Stub(proc.pid, "m_0_0", "m", "")], timeout_s=5) < 5
    proc.wait()


def test_leftover_regions_lists_only_the_given_stubs_regions(region):
    mine = procinfo.Stub(1, "m_0_0", "m", region.name)
    other = procinfo.Stub(2, "n_0_0", "n", f"{procinfo.SHM_PREFIX}absent-{uuid.uuid4()}")
    assert procinfo.leftover_regions([mine, other]) == [region.name]
    region.unlink()
    assert procinfo.leftover_regions([mine]) == []
