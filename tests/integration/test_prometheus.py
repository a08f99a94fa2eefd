"""A real Prometheus (Debian's package) scrapes the embedded Triton's metrics port and evaluates the
chart's own recording rule file, deploy/helm/mmtriton/files/rules.yaml, unchanged: the
queue-to-compute ratio the autoscalers target is ~0 when idle, and rises under a bounded
closed-loop load on loopback from concurrency 1 to 16.

The rule's rate window is 1 minute and each phase lasts PHASE_S, so each phase gets a fresh
Prometheus: its window then holds that phase alone (idle seconds add nothing to either sum)."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from mmtriton.data.generate import read_manifest
from mmtriton.repository.monitoring import RECORD
from mmtriton.serving.server import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "helm" / "mmtriton" / "files" / "rules.yaml"
TARGET = yaml.safe_load((ROOT / "deploy" / "helm" / "mmtriton" / "values.yaml").read_text())["autoscaling"]["target"]
PHASE_S = 20.0
MAX_REQUESTS = 20_000  # per phase: the loops are bounded in count as well as in time
LABELS = {"namespace": "ci", "pod": "embedded-0", "pool": "cpu"}


@contextlib.contextmanager
def running_prometheus(server, work: Path):
    """A fresh Prometheus (empty TSDB) scraping the server every second, with the chart's rules."""
    binary = shutil.which("prometheus")
    if not binary:
        pytest.fail("prometheus is missing: run `make setup` (Debian package prometheus)")
    work.mkdir(parents=True)
    config = {"global": {"scrape_interval": "1s", "evaluation_interval": "1s"}, "rule_files": [str(RULES)],
              "scrape_configs": [{"job_name": "triton", "static_configs": [
                  {"targets": [f"127.0.0.1:{server.cfg.metrics_port}"], "labels": LABELS}]}]}
    (work / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (work / "prometheus.log").open("w") as log:
        proc = subprocess.Popen([binary, f"--config.file={work / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={work / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
                                 "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: scrape_health(url) == "up", 60, "Prometheus never scraped Triton's metrics port")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def api(url: str, path: str, **params: str) -> dict:
    with urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(params)}", timeout=10) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]


def scrape_health(url: str) -> str:
    try:
        targets = api(url, "/api/v1/targets")["activeTargets"]
    except OSError:
        return "down"
    return targets[0]["health"] if targets else "down"


def wait_for(predicate, timeout_s: float, message: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    pytest.fail(message)


def ratio(url: str) -> float:
    """The recorded series for the embedded pod (Prometheus evaluates the rule every second)."""
    result = api(url, "/api/v1/query", query=f'{RECORD}{{pod="{LABELS["pod"]}"}}')["result"]
    assert len(result) == 1, result
    assert {k: result[0]["metric"][k] for k in LABELS} == LABELS
    return float(result[0]["value"][1])


def closed_loop(server, items: list[dict], concurrency: int) -> dict:
    """``concurrency`` clients, each sending its next request when the last one answered."""
    from mmtriton_client import Client

    stop_at, counts, errors = time.monotonic() + PHASE_S, [0] * concurrency, []

    def worker(k: int) -> None:
        with Client(server.cfg.grpc_url, timeout=30, retries=0) as client:
            while time.monotonic() < stop_at and counts[k] < MAX_REQUESTS // concurrency:
                try:
                    client.predict(**items[(k + counts[k] * concurrency) % len(items)])
                except Exception as e:  # noqa: BLE001 - recorded, the test fails on any
                    errors.append(repr(e))
                counts[k] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(PHASE_S + 60)
    return {"requests": sum(counts), "errors": errors}


def test_the_chart_rule_rises_with_concurrency_on_a_real_prometheus(server, artifacts, tmp_path):
    manifest = artifacts.manifest("test")
    folder, samples = manifest.with_suffix(""), read_manifest(manifest)
    items = [{"image": (folder / s.image).read_bytes(), "audio": (folder / s.audio).read_bytes(), "text": s.text}
             for s in samples[:64] if s.image and s.audio and s.text]
    with running_prometheus(server, tmp_path / "low") as prometheus:
        time.sleep(3)
        idle = ratio(prometheus)
        low = closed_loop(server, items, 1)
        at_1 = ratio(prometheus)
    with running_prometheus(server, tmp_path / "high") as prometheus:
        high = closed_loop(server, items, 16)
        at_16 = ratio(prometheus)
    print(f"\nqueue-to-compute ratio: idle {idle:.3f}, c=1 {at_1:.3f} ({low['requests']} requests), "
          f"c=16 {at_16:.3f} ({high['requests']} requests); chart target {TARGET}")
    assert not low["errors"] and not high["errors"], (low["errors"] + high["errors"])[:3]
    assert idle < 0.05, "nothing queues on an idle server"
    # One client already shows a floor: the scheduling overhead of eight models per request over
    # their compute (0.25 on 2 cores since the encoders got cheap: stroke CNN, speech embedding).
    # What 16 clients add on top of it is queueing (measured +0.20 twice).
    assert at_16 - at_1 > 0.1, "16 clients queue far longer per unit of compute than one"
