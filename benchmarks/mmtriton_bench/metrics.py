"""Triton's Prometheus metrics (port 8002) as numbers: scrape, parse, sum by metric."""

from __future__ import annotations

import re
import urllib.request
from typing import Optional

_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")


def parse(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Prometheus text format -> {metric: [(labels, value), ...]} (comments skipped)."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m or line.startswith("#"):
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"] or ""))
        try:
            out.setdefault(m["name"], []).append((labels, float(m["value"])))
        except ValueError:
            continue
    return out


def total(metrics: dict, name: str, model: Optional[str] = None) -> float:
    """Sum of a metric over every label set (or one model's)."""
    return sum(v for labels, v in metrics.get(name, []) if model is None or labels.get("model") == model)


def scrape(host_port: str, timeout: float = 5.0) -> dict:
    with urllib.request.urlopen(f"http://{host_port}/metrics", timeout=timeout) as r:
        return parse(r.read().decode())
