"""The embedded server's process tree from /proc: the server, its Python-backend stubs (by model
instance), their resident memory and the shared-memory regions they use.

Used by the supervisor's diagnostics, the fault tests (which stub to kill or stop), the soak
script (RSS per process over time) and the shutdown check (no region left in /dev/shm).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

PROC = Path("/proc")
SHM = Path("/dev/shm")
SHM_PREFIX = "triton_python_backend_"
_INSTANCE = re.compile(r"^(?P<model>.+)_(?P<group>\d+)_(?P<index>\d+)$")


@dataclass(frozen=True)
class Stub:
    pid: int
    instance: str  # e.g. "audio_preprocess_0_1"
    model: str
    shm_region: str


def _stat_fields(pid: int) -> Optional[list[str]]:
    """The fields of /proc/<pid>/stat after the command name (state first); None once gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # the command may contain spaces and parentheses


def _ppid(pid: int) -> int:
    fields = _stat_fields(pid)
    return -1 if fields is None else int(fields[1])


def running(pid: int) -> bool:
    """True while the process exists and is not a zombie waiting to be reaped."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    return sorted(int(p.name) for p in PROC.iterdir() if p.name.isdigit() and _ppid(int(p.name)) == pid)


def argv(pid: int) -> list[str]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def mentioning(needle: str) -> list[int]:
    """Running processes whose command line contains ``needle`` (e.g. a repository path: the
    server and every stub name it), for the check that nothing outlived a stop."""
    pids = (int(p.name) for p in PROC.iterdir() if p.name.isdigit())
    return [pid for pid in pids if running(pid) and any(needle in a for a in argv(pid))]


def stubs(server_pid: int) -> list[Stub]:
    """Python-backend stub processes of a server, with the model instance each one runs."""
    out = []
    for pid in children(server_pid):
        args = argv(pid)
        if not args or not args[0].endswith("triton_python_backend_stub"):
            continue
        instance = next((a for a in args[3:] if _INSTANCE.match(a)), "")
        region = next((a for a in args if a.startswith(SHM_PREFIX)), "")
        m = _INSTANCE.match(instance)
        out.append(Stub(pid, instance, m["model"] if m else "", region))
    return out


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 once it is gone)."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(server_pid: int) -> dict[str, int]:
    """RSS of the server and of every stub, keyed ``tritonserver`` / instance name."""
    out = {"tritonserver": rss_bytes(server_pid)}
    out.update({s.instance or str(s.pid): rss_bytes(s.pid) for s in stubs(server_pid)})
    return out


def shm_regions() -> dict[str, int]:
    """Python-backend shared-memory regions in /dev/shm and their sizes."""
    if not SHM.is_dir():
        return {}
    return {p.name: p.stat().st_size for p in SHM.iterdir() if p.name.startswith(SHM_PREFIX)}


def wait_exited(gone: list[Stub], timeout_s: float) -> float:
    """Wait until the given stub processes have exited; returns the seconds waited.

    After tritonserver exits, its stubs finish a moment later (measured: up to 2 s here under
    load), and a caller that checks /dev/shm or starts the next server must wait for them."""
    start = time.monotonic()
    while True:
        alive = [s.pid for s in gone if running(s.pid)]
        if not alive:
            return time.monotonic() - start
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"stub processes {alive} still running after {timeout_s:.0f} s")
        time.sleep(0.1)


def group(pgid: int) -> list[int]:
    """Running members of a process group (the server's own session: it and its stubs)."""
    pids = (int(p.name) for p in PROC.iterdir() if p.name.isdigit())
    return [pid for pid in pids if (f := _stat_fields(pid)) is not None and f[0] != "Z" and int(f[2]) == pgid]


def wait_group_exited(pgid: int, timeout_s: float) -> float:
    """Wait until no member of ``pgid`` runs (zombies count as gone); returns the seconds waited."""
    start = time.monotonic()
    while (alive := group(pgid)):
        if time.monotonic() - start > timeout_s:
            raise TimeoutError(f"processes {alive} of group {pgid} still running after {timeout_s:.0f} s")
        time.sleep(0.1)
    return time.monotonic() - start


def mapped_regions() -> set[str]:
    """Python-backend regions some running process still maps (its creator or its stub)."""
    mapped = set()
    for p in PROC.iterdir():
        try:
            maps = (p / "maps").read_text() if p.name.isdigit() else ""
        except OSError:
            continue
        mapped.update(line.rsplit("/", 1)[1] for line in maps.splitlines() if f"/dev/shm/{SHM_PREFIX}" in line)
    return mapped


def orphan_regions(before: set[str]) -> list[str]:
    """Regions created since ``before`` was taken that no running process maps: what a server
    that is gone left behind (2.51 leaves the region of a stub that died, and of a server that
    was killed), never a region of another live server."""
    return sorted(set(shm_regions()) - before - mapped_regions())
