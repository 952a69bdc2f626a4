"""``schedule(pod, snapshot) -> Binding | Unschedulable``: the pure decision.

Filter every node, score the feasible ones, pick the best. Ties go to a
seeded RNG when one is given (kube-scheduler picks at random among the
best), else to the lowest node name, so a test can predict the choice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .filters import DEFAULT_FILTERS, Filter, needed_for
from .resources import requests_held
from .scores import DEFAULT_SCORES, Score
from .snapshot import NodeInfo, Snapshot

Obj = dict[str, Any]


@dataclass(frozen=True)
class Binding:
    node: str
    score: float = 0.0


@dataclass(frozen=True)
class Unschedulable:
    total_nodes: int
    reasons: dict[str, int] = field(default_factory=dict)  # reason -> node count

    @property
    def message(self) -> str:
        """kube-scheduler's FitError text: counts per reason, sorted as strings."""
        head = f"0/{self.total_nodes} nodes are available"
        parts = sorted(f"{n} {reason}" for reason, n in self.reasons.items())
        return f"{head}: {', '.join(parts)}." if parts else f"{head}."


def filter_node(pod: Obj, info: NodeInfo, filters: Sequence[Filter] = DEFAULT_FILTERS) -> list[str]:
    """The reasons of the first filter that rejects the node, or []."""
    for f in filters:
        reasons = f(pod, info)
        if reasons:
            return reasons
    return []


def score_nodes(pod: Obj, infos: list[NodeInfo],
                scores: Sequence[tuple[Score, int]] = DEFAULT_SCORES) -> list[float]:
    totals = [0.0] * len(infos)
    for fn, weight in scores:
        for i, s in enumerate(fn(pod, infos)):
            totals[i] += weight * s
    return totals


def schedule(pod: Obj, snapshot: Snapshot, rng: random.Random | None = None,
             filters: Sequence[Filter] = DEFAULT_FILTERS,
             scores: Sequence[tuple[Score, int]] = DEFAULT_SCORES) -> Binding | Unschedulable:
    with requests_held(pod):
        return _schedule(pod, snapshot, rng, filters, scores)


def _schedule(pod: Obj, snapshot: Snapshot, rng: random.Random | None,
              filters: Sequence[Filter],
              scores: Sequence[tuple[Score, int]]) -> Binding | Unschedulable:
    feasible: list[NodeInfo] = []
    reasons: Counter = Counter()
    needed = needed_for(pod, filters)
    for name in sorted(snapshot.nodes):
        info = snapshot.nodes[name]
        why = filter_node(pod, info, needed)
        if why:
            reasons.update(why)
        else:
            feasible.append(info)
    if not feasible:
        return Unschedulable(len(snapshot.nodes), dict(reasons))
    if len(feasible) == 1:
        return Binding(feasible[0].name, 0.0)
    totals = score_nodes(pod, feasible, scores)
    best = max(totals)
    # Float sums of equal terms can differ in the last bit; compare with a tolerance.
    top = [info.name for info, s in zip(feasible, totals, strict=True) if best - s < 1e-9]
    choice = rng.choice(top) if rng is not None else top[0]
    return Binding(choice, best)
