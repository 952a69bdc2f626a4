"""A recorded history of what clients sent and what was acknowledged, and the
checks a chaos verdict is made of. Pure: the scenarios record, this module
judges, and tests/unit/test_chaos_history.py shows each check can fail."""

from __future__ import annotations

import statistics
import threading
from collections import Counter
from dataclasses import dataclass, field


@dataclass
class History:
    """Thread-safe record of the writes of one run.

    ``creates`` maps an acknowledged object's name to the data it was created
    with; ``unknown_creates`` are creates whose outcome the client never
    learned. ``increments``/``unknown_increments`` count compare-and-swap
    increments of one counter. ``versions`` holds the resourceVersion of every
    acknowledged write, to show none was handed out twice."""

    creates: dict[str, dict[str, str]] = field(default_factory=dict)
    unknown_creates: set[str] = field(default_factory=set)
    increments: int = 0
    unknown_increments: int = 0
    versions: list[str] = field(default_factory=list)
    acked_at: list[tuple[float, float]] = field(default_factory=list)  # (sent, acked)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def created(self, name: str, data: dict[str, str], rv: str, sent: float,
                at: float) -> None:
        with self._lock:
            self.creates[name] = data
            self.unknown_creates.discard(name)
            self.versions.append(rv)
            self.acked_at.append((sent, at))

    def create_unknown(self, name: str) -> None:
        with self._lock:
            self.unknown_creates.add(name)

    def incremented(self, rv: str, sent: float, at: float) -> None:
        with self._lock:
            self.increments += 1
            self.versions.append(rv)
            self.acked_at.append((sent, at))

    def increment_unknown(self) -> None:
        with self._lock:
            self.unknown_increments += 1

    def first_ack_sent_after(self, t: float) -> float | None:
        """When the first write sent after ``t`` was acknowledged (a write in
        flight at ``t`` may still be answered: it committed before)."""
        with self._lock:
            later = [a for s, a in self.acked_at if s > t]
        return min(later) if later else None


def lost_creates(history: History, stored: dict[str, dict[str, str]]) -> list[str]:
    """Acknowledged creates missing from ``stored`` (name → data) or stored with
    other content."""
    return sorted(n for n, data in history.creates.items() if stored.get(n) != data)


def counter_problem(history: History, value: int) -> str | None:
    """The counter must equal the acknowledged increments plus at most the
    increments whose outcome was never learned."""
    low, high = history.increments, history.increments + history.unknown_increments
    if not low <= value <= high:
        return (f"counter is {value}, expected between {low} (acknowledged) and {high} "
                f"(+{history.unknown_increments} unknown)")
    return None


def reused_versions(history: History) -> list[str]:
    """resourceVersions handed out to more than one acknowledged write."""
    return sorted(rv for rv, n in Counter(history.versions).items() if n > 1)


def store_differences(stores: dict[str, dict[str, dict]]) -> list[str]:
    """Keys on which the masters' stores (name → object) disagree."""
    names = list(stores)
    keys = set().union(*(set(s) for s in stores.values()))
    diffs = []
    for key in sorted(keys):
        values = [stores[n].get(key) for n in names]
        if any(v != values[0] for v in values[1:]):
            diffs.append(key)
    return diffs


def summary(seconds: list[float]) -> str:
    if not seconds:
        return "none"
    return f"median {statistics.median(seconds):.2f}s, worst {max(seconds):.2f}s"
