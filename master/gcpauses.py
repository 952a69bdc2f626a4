"""Garbage-collection pauses of a master, measured and logged.

A full (generation 2) collection walks every container object of the heap
while holding the GIL: every thread of the master stops, the Raft ticks
included, and a pause near the election timeout costs the cluster a leader.
Each pass is timed through ``gc.callbacks`` (a clock read at its start and
end) and observed in ``python_gc_pause_seconds``; a pause of
``WARN_SECONDS`` or more is logged with its generation.
"""

from __future__ import annotations

import gc
import logging
import time
from typing import Any

from prometheus_client import Histogram

log = logging.getLogger(__name__)

WARN_SECONDS = 0.1
GC_PAUSES = Histogram("python_gc_pause_seconds", "One garbage-collection pass, by generation.",
                      ["generation"],
                      buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))


class PauseTimer:
    """The ``gc.callbacks`` entry: times each pass into ``GC_PAUSES`` and warns
    of one at or over ``WARN_SECONDS``."""

    def __init__(self, clock: Any = time.perf_counter) -> None:
        self.clock = clock
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = self.clock()
            return
        took = self.clock() - self._started
        generation = info.get("generation", 0)
        GC_PAUSES.labels(str(generation)).observe(took)
        if took >= WARN_SECONDS:
            log.warning("garbage collection (generation %d) paused this master for %.2fs "
                        "(%d objects collected)", generation, took, info.get("collected", 0))


_installed: PauseTimer | None = None


def install(young: int | None = None, full: int | None = None) -> PauseTimer:
    """Time every collection of this process (once; later calls return the same
    timer). ``young``: objects allocated (net) between collections of the youngest
    generation; ``full``: collections of the middle one between full collections
    (None: as they are). Raises ValueError for a threshold below 1."""
    global _installed
    for setting, value in (("gc_threshold", young), ("gc_full_threshold", full)):
        if value is not None and value < 1:
            raise ValueError(f"{setting} must be 1 or more, not {value}")
    current = gc.get_threshold()
    gc.set_threshold(young or current[0], current[1], full or current[2])
    if _installed is None:
        _installed = PauseTimer()
        gc.callbacks.append(_installed)
    return _installed
