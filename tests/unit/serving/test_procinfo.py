"""procinfo reads real /proc and /dev/shm; these tests use real processes and a real region file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def test_an_unmapped_new_region_is_an_orphan_but_not_one_from_before(region):
    assert region.name in procinfo.orphan_regions(before=set())
    assert region.name not in procinfo.orphan_regions(before={region.name})
    region.unlink()
    assert region.name not in procinfo.orphan_regions(before=set())


def test_a_region_a_live_process_maps_is_never_an_orphan(region):
    """Another live server's region must survive our cleanup: it is mapped by its processes."""
    code = ("import mmap, sys; f = open(sys.argv[1], 'r+b'); m = mmap.mmap(f.fileno(), 16); "
            "print('mapped', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code, str(region)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "mapped"
        assert region.name in procinfo.mapped_regions()
        assert region.name not in procinfo.orphan_regions(before=set())
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert region.name in procinfo.orphan_regions(before=set()), "unmapped once its holder exited"


def test_a_process_group_is_waited_for_until_its_last_member_exits():
    leader = subprocess.Popen(["sh", "-c", "sleep 30 & exec sleep 30"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(procinfo.group(leader.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        members = procinfo.group(leader.pid)
        assert leader.pid in members and len(members) == 2, members
        with pytest.raises(TimeoutError, match=str(leader.pid)):
            procinfo.wait_group_exited(leader.pid, timeout_s=0.3)
        os.killpg(leader.pid, signal.SIGKILL)
        assert procinfo.wait_group_exited(leader.pid, timeout_s=30) >= 0
        assert procinfo.group(leader.pid) == []
    finally:
        leader.kill()
        leader.wait()
