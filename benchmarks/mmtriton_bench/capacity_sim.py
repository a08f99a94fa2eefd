"""A deterministic day of traffic against the Kubernetes HPA algorithm driving the chart's metric.

The HPA part follows kube-controller-manager's replica calculator for a Pods metric and its
behaviour rules: desired = ceil(current x metric / target) outside a +-10 % tolerance band; pods
without a metric yet (starting) count as 0 when scaling up and as the target when scaling down;
scale-up takes the lowest, scale-down the highest recommendation of its stabilisation window;
the rate limits of the chart's ``behavior`` (one Pods policy each way, counted from the replicas
at the start of the policy's period); min/max.
Each pod is an M/M/1 queue with the load spread evenly over the ready pods, so the chart's
queue-to-compute ratio (queue time / compute time) is rho / (1 - rho). What this leaves out:
Prometheus scrape and rate() windows (the HPA here reads the last sync period exactly), the
ready pods' drain on scale-down, and any burstiness beyond Poisson."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mmtriton.errors import BenchError

SYNC_S = 15.0         # --horizontal-pod-autoscaler-sync-period default
TOLERANCE = 0.1       # --horizontal-pod-autoscaler-tolerance default
RATIO_CAP = 100.0     # the ratio reported for a saturated pod (rho >= 1): "scale up hard"
DAY_S = 24 * 3600.0


@dataclass(frozen=True)
class Autoscaling:
    """The chart's ``autoscaling`` values; the rate limits are those deploy/helm/mmtriton/templates/
    hpa.yaml writes into ``behavior`` (not values keys; a test fails when they drift apart)."""

    min_replicas: int
    max_replicas: int
    target: float
    up_window_s: float = 0.0
    down_window_s: float = 300.0
    up_pods: int = 2            # scaleUp: {type: Pods, value: 2, periodSeconds: 60}
    up_period_s: float = 60.0
    down_pods: int = 1          # scaleDown: {type: Pods, value: 1, periodSeconds: 120}
    down_period_s: float = 120.0
    tolerance: float = TOLERANCE

    @classmethod
    def from_values(cls, path: Path) -> "Autoscaling":
        import yaml

        try:
            a = yaml.safe_load(path.read_text())["autoscaling"]
            hpa = cls(int(a["minReplicas"]), int(a["maxReplicas"]), float(a["target"]), float(a.get(
                "scaleUpStabilizationSeconds", 0)), float(a.get("scaleDownStabilizationSeconds", 300)))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
            raise BenchError(f"cannot read the autoscaling values from {path}: {e!r}") from e
        if not 1 <= hpa.min_replicas <= hpa.max_replicas or hpa.target <= 0:
            raise BenchError(f"{path}: need 1 <= minReplicas <= maxReplicas and target > 0, got {a}")
        return hpa

    def target_utilisation(self) -> float:
        """The per-pod rho at which the M/M/1 ratio rho / (1 - rho) equals the target."""
        return self.target / (1.0 + self.target)


def queue_ratio(rho: float) -> float:
    return rho / (1.0 - rho) if rho < 1.0 else RATIO_CAP


def traffic(times_s: list[float], peak_rps: float) -> list[float]:
    """Arrivals/s: a diurnal curve (low at 03:00, high at 15:00), a working-day step from 08:00
    that fades after 20:00, and a 10-minute burst at 06:30 (a batch client before the working day)
    to about five times the level around it; scaled so that the burst is the day's peak."""
    def raw(t: float) -> float:
        h = t / 3600
        diurnal = 0.1 + 0.25 * (1 - math.cos(2 * math.pi * (h - 3) / 24))
        workday = 0.25 / (1 + math.exp(-(h - 8) / 0.25)) / (1 + math.exp((h - 20) / 1.0))
        return diurnal + workday + (0.8 if 6.5 <= h < 6.5 + 1 / 6 else 0.0)

    levels = [raw(t) for t in times_s]
    top = max(levels)
    return [peak_rps * v / top for v in levels]


def recommend(ready: int, starting: int, ratio: float, hpa: Autoscaling) -> int:
    """The replica calculator for a Pods metric averaged over the pods that report it (ready)."""
    usage, current = ratio / hpa.target, ready + starting
    if starting == 0:
        return current if abs(usage - 1) <= hpa.tolerance else math.ceil(usage * ready)
    fill = 0.0 if usage > 1 else hpa.target
    new = (ready * ratio + starting * fill) / (current * hpa.target)
    if abs(new - 1) <= hpa.tolerance or (usage > 1) != (new > 1):
        return current
    desired = math.ceil(new * current)
    return current if (new < 1 and desired > current) or (new > 1 and desired < current) else desired


def stabilise(history: list[tuple[float, int]], now: float, current: int, hpa: Autoscaling) -> int:
    """Scale up to no more than the lowest, down to no less than the highest recommendation of the
    windows; ``history`` ends with this sync's (now, recommendation)."""
    up = min(r for t, r in history if t > now - hpa.up_window_s or t == now)
    down = max(r for t, r in history if t > now - hpa.down_window_s or t == now)
    return min(max(current, up), down)


def limit(desired: int, current: int, events: list[tuple[float, int]], now: float, hpa: Autoscaling) -> int:
    """The behaviour rate limits, then min/max; ``events`` are the past syncs' (time, change)."""
    def period_start(period_s: float) -> int:
        return current - sum(d for t, d in events if t > now - period_s)

    if desired > current:
        return min(desired, max(current, period_start(hpa.up_period_s) + hpa.up_pods), hpa.max_replicas)
    if desired < current:
        return max(desired, min(current, period_start(hpa.down_period_s) - hpa.down_pods), hpa.min_replicas)
    return desired


class Controller:
    """One HPA's memory between syncs: its recommendations and its scale events."""

    def __init__(self, hpa: Autoscaling) -> None:
        self.hpa = hpa
        self.history: list[tuple[float, int]] = []
        self.events: list[tuple[float, int]] = []

    def sync(self, now: float, ready: int, starting: int, ratio: float) -> int:
        hpa, current = self.hpa, ready + starting
        keep = max(hpa.up_window_s, hpa.down_window_s, hpa.up_period_s, hpa.down_period_s)
        self.history = [(t, r) for t, r in self.history if t > now - keep]
        self.history.append((now, recommend(ready, starting, ratio, hpa)))
        self.events = [(t, d) for t, d in self.events if t > now - keep]
        desired = limit(stabilise(self.history, now, current, hpa), current, self.events, now, hpa)
        if desired != current:
            self.events.append((now, desired - current))
        return desired


def resize(ready_at: list[float], desired: int, new_ready_at: float) -> list[float]:
    """Pods as the times they serve from: new ones from ``new_ready_at``; a scale-down deletes the
    pods that would serve last, starting ones first (the ReplicaSet controller's preference)."""
    return sorted(ready_at)[:desired] + [new_ready_at] * max(0, desired - len(ready_at))


@dataclass(frozen=True)
class Day:
    """One row per sync period: arrivals, ready capacity, pods (incl. starting), rejected/s."""

    dt_s: float
    t_s: tuple[float, ...]
    arrival_rps: tuple[float, ...]
    capacity_rps: tuple[float, ...]
    replicas: tuple[int, ...]
    rejected_rps: tuple[float, ...]

    @property
    def offered(self) -> float:
        return sum(self.arrival_rps) * self.dt_s

    @property
    def rejected(self) -> float:
        return sum(self.rejected_rps) * self.dt_s

    @property
    def replica_hours(self) -> float:
        return sum(self.replicas) * self.dt_s / 3600


def simulate(hpa: Autoscaling, mu: float, peak_rps: float, startup_s: float, dt_s: float = SYNC_S) -> Day:
    """24 h from the replica count the HPA would settle at for midnight's load; a new pod serves
    ``startup_s`` after the sync that created it; scale-down removes starting pods first."""
    times = [i * dt_s for i in range(int(DAY_S / dt_s))]
    arrivals = traffic(times, peak_rps)
    first = math.ceil(arrivals[0] / (mu * hpa.target_utilisation()))
    ready_at = [0.0] * max(hpa.min_replicas, min(first, hpa.max_replicas))
    controller, rows = Controller(hpa), []
    for t, lam in zip(times, arrivals):
        ready = sum(1 for r in ready_at if r <= t)
        capacity = ready * mu
        rows.append((capacity, len(ready_at), max(0.0, lam - capacity)))
        ratio = queue_ratio(lam / capacity) if ready else RATIO_CAP
        desired = controller.sync(t, ready, len(ready_at) - ready, ratio)
        ready_at = resize(ready_at, desired, t + dt_s + startup_s)
    cap, reps, rej = zip(*rows)
    return Day(dt_s, tuple(times), tuple(arrivals), cap, reps, rej)
