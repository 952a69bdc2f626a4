"""Resource usage from the kernel: the node's (psutil) and each pod's (Docker stats).

Docker's stats call is slow, so a background thread samples every running
app container and the sync loop and heartbeat only read the latest figures.
CPU is the rate of the cgroup's cumulative CPU time between two of our own
samples (``one_shot`` stats return at once, without Docker's own pre-sample);
the node's is the rate of busy time in ``/proc/stat`` between the same two
samples. ``report()`` is what the heartbeat publishes on the Lease for the
Metrics API (coxapi.usagereport).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psutil

from coxapi.timefmt import rfc3339
from coxapi.usagereport import Figures, UsageReport

from .runtime import ContainerInfo, Runtime

log = logging.getLogger(__name__)


def cpu_nanocores(prev: tuple[float, float] | None, cur: tuple[float, float]) -> int | None:
    """CPU used between two (cumulative CPU seconds, wall seconds) samples, in nanocores."""
    if prev is None or cur[1] <= prev[1] or cur[0] < prev[0]:
        return None
    return round((cur[0] - prev[0]) / (cur[1] - prev[1]) * 1e9)


def busy_seconds(times: object) -> float:
    """CPU seconds spent not idle, from a ``/proc/stat`` line (psutil's cpu_times):
    everything but idle and iowait, as top counts it (guest time is already in user)."""
    idle = getattr(times, "idle", 0.0) + getattr(times, "iowait", 0.0)
    total = sum(getattr(times, f) for f in getattr(times, "_fields", ())
                if f not in ("guest", "guest_nice"))
    return total - idle


def node_sample() -> tuple[float, int]:
    """(cumulative busy CPU seconds of all CPUs, memory in use in bytes)."""
    mem = psutil.virtual_memory()
    return busy_seconds(psutil.cpu_times()), mem.total - mem.available


def usage(millicores: int, memory: int) -> dict[str, str]:
    """Figures for the Node's ``status.usage``: millicores, and memory in Mi (Ki
    below 1 Mi), rounded so that small fluctuations do not rewrite the status."""
    mem = f"{round(memory / 2**20)}Mi" if memory >= 2**20 else f"{-(-memory // 1024)}Ki"
    return {"cpu": f"{max(0, millicores)}m", "memory": mem}


def node_usage() -> dict[str, str]:
    """Node CPU (since the previous call) and memory in use, from the kernel."""
    cpus = psutil.cpu_count() or 1
    mem = psutil.virtual_memory()
    return usage(round(psutil.cpu_percent(interval=None) / 100 * cpus * 1000),
                 mem.total - mem.available)


class StatsCollector:
    def __init__(self, runtime: Runtime, list_running: Callable[[], list[ContainerInfo]],
                 interval: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 node: Callable[[], tuple[float, int]] = node_sample,
                 wall: Callable[[], float] = time.time) -> None:
        self.runtime = runtime
        self.list_running = list_running
        self.interval = interval
        self.clock = clock
        self.node = node
        self.wall = wall
        self._prev: dict[str, tuple[float, float]] = {}  # container -> (CPU s, wall s)
        self._node_prev: tuple[float, float] | None = None
        self._report: UsageReport | None = None
        self._lock = threading.Lock()
        psutil.cpu_percent(interval=None)  # primes the CPU counter for node_usage()

    def report(self) -> UsageReport | None:
        """The latest figures for the Metrics API (None before two samples)."""
        with self._lock:
            return self._report

    def sample(self) -> None:
        busy, node_memory = self.node()
        node_at, taken = self.clock(), self.wall()
        node_prev, self._node_prev = self._node_prev, (busy, node_at)
        unrated: set[str] = set()  # pods with a container that has no rate yet
        per_container: dict[str, dict[str, Figures]] = {}
        seen = set()
        for c in self.list_running():
            if c.is_infra or not c.running:
                continue
            s = self.runtime.stats(c.id)
            if s is None:
                continue
            seen.add(c.id)
            cur = (s[0] / 1e9, self.clock())
            nanocores = cpu_nanocores(self._prev.get(c.id), cur)
            self._prev[c.id] = cur
            if nanocores is None:
                unrated.add(c.pod_uid)  # no rate yet for this container: wait for the next round
                continue
            per_container.setdefault(c.pod_uid, {})[c.container_name] = (nanocores, s[1])
        for cid in [c for c in self._prev if c not in seen]:
            del self._prev[cid]
        node_cpu = cpu_nanocores(node_prev, (busy, node_at))
        report = None
        if node_cpu is not None and node_prev is not None:
            report = UsageReport(rfc3339(taken, micro=True), node_at - node_prev[1],
                                 (node_cpu, node_memory),
                                 {uid: cs for uid, cs in per_container.items()
                                  if uid not in unrated})
        with self._lock:
            self._report = report

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sample()
            except OSError as e:  # the runtime's socket is gone (Docker restarting)
                log.warning("sampling container stats: %s", e)
            except Exception:  # noqa: BLE001 - a failed sample must not end the thread
                log.exception("sampling container stats failed")
            stop.wait(self.interval)
