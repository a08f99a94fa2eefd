"""procinfo reads real /proc and /dev/shm; these tests use real processes and a real region file."""

from __future__ import annotations

import subprocess
import threading
import time
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
    """The process ends only when the test closes its stdin: wait_exited cannot return before."""
    proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    released = threading.Event()

    def release() -> None:
        time.sleep(0.3)
        released.set()
        proc.stdin.close()

    threading.Thread(target=release, daemon=True).start()
    try:
        procinfo.wait_exited([procinfo.Stub(proc.pid, "m_0_0", "m", "")], timeout_s=60)
        assert released.is_set(), "returned while the process was still running"
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


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
    # a zombie that did not count would raise TimeoutError after the 30 s
    assert procinfo.wait_exited([procinfo.Stub(proc.pid, "m_0_0", "m", "")], timeout_s=30) >= 0
    proc.wait()


def test_leftover_regions_lists_only_the_given_stubs_regions(region):
    mine = procinfo.Stub(1, "m_0_0", "m", region.name)
    other = procinfo.Stub(2, "n_0_0", "n", f"{procinfo.SHM_PREFIX}absent-{uuid.uuid4()}")
    assert procinfo.leftover_regions([mine, other]) == [region.name]
    region.unlink()
    assert procinfo.leftover_regions([mine]) == []
