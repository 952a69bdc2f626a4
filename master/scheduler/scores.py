"""Scores: how good is this feasible node for this pod, 0..100 each, then
weighted like kube-scheduler's default profile. A score plugin sees all
feasible nodes because some normalise across them (spread, taints)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .filters import term_matches, tolerated
from .resources import Resources, pod_requests
from .snapshot import NodeInfo, owner_uid

Obj = dict[str, Any]
MAX = 100
Score = Callable[[Obj, list[NodeInfo]], list[float]]


def _fractions(want: Resources, info: NodeInfo) -> tuple[float, float]:
    """The node's CPU and memory in use (as scores count requests) once
    ``want`` is placed on it, as fractions of what it offers."""
    used, alloc = info.score_requested, info.allocatable
    cpu = (used.cpu + want.cpu) / alloc.cpu if alloc.cpu else 1.0
    mem = (used.memory + want.memory) / alloc.memory if alloc.memory else 1.0
    return min(cpu, 1.0), min(mem, 1.0)


def least_allocated(pod: Obj, infos: list[NodeInfo]) -> list[float]:
    """More free CPU and memory after placing the pod scores higher."""
    want = pod_requests(pod, non_zero=True)
    out = []
    for info in infos:
        cpu, mem = _fractions(want, info)
        out.append(((1 - cpu) + (1 - mem)) / 2 * MAX)
    return out


def balanced_allocation(pod: Obj, infos: list[NodeInfo]) -> list[float]:
    """CPU and memory used in the same proportion scores higher (the
    standard deviation of the two fractions is |a-b|/2)."""
    want = pod_requests(pod, non_zero=True)
    out = []
    for info in infos:
        cpu, mem = _fractions(want, info)
        out.append((1 - abs(cpu - mem) / 2) * MAX)
    return out


def spread(pod: Obj, infos: list[NodeInfo]) -> list[float]:
    """Fewer replicas of the pod's workload (same controller owner) on a node
    scores higher, so replicas land on different nodes."""
    owner = owner_uid(pod)
    if not owner:
        return [MAX] * len(infos)
    counts = [info.owners.get(owner, 0) for info in infos]
    most = max(counts, default=0)
    if most == 0:
        return [MAX] * len(infos)
    return [MAX * (most - c) / most for c in counts]


def taint_toleration(pod: Obj, infos: list[NodeInfo]) -> list[float]:
    """Fewer untolerated PreferNoSchedule taints scores higher."""
    if not any(info.soft_taints for info in infos):
        return [MAX] * len(infos)
    tols = [t for t in (pod.get("spec") or {}).get("tolerations") or []
            if t.get("effect") in (None, "", "PreferNoSchedule")]
    counts = [sum(1 for t in info.soft_taints if not tolerated(t, tols)) for info in infos]
    most = max(counts, default=0)
    if most == 0:
        return [MAX] * len(infos)
    return [MAX * (most - c) / most for c in counts]


def preferred_affinity(pod: Obj, infos: list[NodeInfo]) -> list[float]:
    """Sum of the weights of matching preferred node-affinity terms, scaled."""
    prefs = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
             .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
    if not prefs:
        return [0.0] * len(infos)
    sums = [sum(int(p.get("weight", 0)) for p in prefs
                if term_matches(p.get("preference") or {}, info.node)) for info in infos]
    most = max(sums, default=0)
    return [MAX * s / most if most else 0.0 for s in sums]


# kube-scheduler's default weights.
DEFAULT_SCORES: tuple[tuple[Score, int], ...] = (
    (least_allocated, 1),
    (balanced_allocation, 1),
    (spread, 2),
    (taint_toleration, 3),
    (preferred_affinity, 2),
)
