"""Resource arithmetic over pod and node specs, as kube-scheduler counts it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from coxapi.quantity import QuantityError, parse_cpu, parse_memory

Obj = dict[str, Any]

# What kube-scheduler assumes for a container without requests when it
# *scores* nodes (never when it filters), so best-effort pods still spread.
DEFAULT_SCORE_CPU = 100
DEFAULT_SCORE_MEMORY = 200 * 2**20


@dataclass(frozen=True, slots=True)
class Resources:
    cpu: int = 0  # millicores
    memory: int = 0  # bytes

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu + other.cpu, self.memory + other.memory)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu - other.cpu, self.memory - other.memory)


def _quantity(values: Obj | None, name: str) -> int | None:
    if not values or values.get(name) in (None, ""):
        return None
    try:
        return parse_cpu(values[name]) if name == "cpu" else parse_memory(values[name])
    except (QuantityError, TypeError):
        return None


def container_requests(container: Obj, non_zero: bool = False) -> Resources:
    """A container's requests; a resource with a limit but no request
    requests its limit (as the API server defaults it)."""
    res = container.get("resources") or {}
    out = []
    for name in ("cpu", "memory"):
        v = _quantity(res.get("requests"), name)
        if v is None:
            v = _quantity(res.get("limits"), name)
        if v is None:
            v = 0
        if non_zero and v == 0:
            v = DEFAULT_SCORE_CPU if name == "cpu" else DEFAULT_SCORE_MEMORY
        out.append(v)
    return Resources(*out)


# The pod being scheduled and its requests (plain, non-zero), computed once per
# scheduling cycle as kube-scheduler's PreFilter does: filters and scores ask
# for them once per node, and parsing them each time was most of a decision.
_cycle: ContextVar[tuple[Obj, Resources, Resources] | None] = ContextVar("_cycle", default=None)


@contextmanager
def requests_held(pod: Obj) -> Iterator[None]:
    """Within this block ``pod_requests(pod)`` answers from one computation
    (the pod must not change meanwhile: the scheduler only reads it)."""
    token = _cycle.set((pod, _pod_requests(pod, False), _pod_requests(pod, True)))
    try:
        yield
    finally:
        _cycle.reset(token)


def pod_requests(pod: Obj, non_zero: bool = False) -> Resources:
    """Sum of the app containers' requests, or the largest init container's
    if that is more (init containers run one at a time, before the app)."""
    held = _cycle.get()
    if held is not None and held[0] is pod:
        return held[2] if non_zero else held[1]
    return _pod_requests(pod, non_zero)


def _pod_requests(pod: Obj, non_zero: bool) -> Resources:
    spec = pod.get("spec") or {}
    total = Resources()
    for c in spec.get("containers") or []:
        total = total + container_requests(c, non_zero)
    cpu, mem = total.cpu, total.memory
    for c in spec.get("initContainers") or []:
        r = container_requests(c, non_zero)
        cpu, mem = max(cpu, r.cpu), max(mem, r.memory)
    return Resources(cpu, mem)


def node_allocatable(node: Obj) -> tuple[Resources, int]:
    """``(cpu+memory, pods)`` the node offers to pods (allocatable, else capacity)."""
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    cpu = _quantity(alloc, "cpu") or 0
    mem = _quantity(alloc, "memory") or 0
    try:
        pods = int(alloc.get("pods", 110))
    except (TypeError, ValueError):
        pods = 110
    return Resources(cpu, mem), pods


def pod_is_terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
