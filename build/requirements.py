#!/usr/bin/env python3
"""Print the project's requirements (core + chosen extras) minus the ones an image already has.

The NGC images ship their own torch, tritonclient and CUDA runtime; installing our pins over
them would replace a CUDA build with a CPU one or pull gigabytes. pyproject.toml stays the
single list of dependencies; the Dockerfiles filter it here instead of keeping copies.
Usage: requirements.py --extras train,export --exclude torch,nvidia-pytriton > req.txt
       requirements.py --extras train --only efficientnet-lite-pytorch   (one pinned line, e.g. for --no-deps)
"""

from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path


def requirement_name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req, maxsplit=1)[0].lower()


def requirements(pyproject: Path, extras: list[str], exclude: set[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    optional = project.get("optional-dependencies", {})
    unknown = [e for e in extras if e not in optional]
    if unknown:
        raise SystemExit(f"unknown extra(s) {unknown}; known: {sorted(optional)}")
    reqs = list(project["dependencies"]) + [r for e in extras for r in optional[e]]
    seen, out = set(), []
    for r in reqs:
        name = requirement_name(r)
        if name not in exclude and r not in seen:
            seen.add(r)
            out.append(r)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pyproject", type=Path, default=Path(__file__).resolve().parents[1] / "pyproject.toml")
    p.add_argument("--extras", default="")
    p.add_argument("--exclude", default="")
    p.add_argument("--only", default="", help="print only these names (their pins as pyproject.toml spells them)")
    args = p.parse_args(argv)
    extras = [e for e in args.extras.split(",") if e]
    exclude = {e.lower() for e in args.exclude.split(",") if e}
    reqs = requirements(args.pyproject, extras, exclude)
    only = {e.lower() for e in args.only.split(",") if e}
    if only:
        missing = only - {requirement_name(r) for r in reqs}
        if missing:
            raise SystemExit(f"--only: {sorted(missing)} not among the requirements of these extras")
        reqs = [r for r in reqs if requirement_name(r) in only]
    sys.stdout.write("\n".join(reqs) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
