"""Fakes and object builders for driving controllers in tests and benches:
an in-memory store behind the real ObjectStore, a hand-moved clock, and
minimal API objects in the shape the API server would have defaulted."""

from __future__ import annotations

import threading
from typing import Any

from raftstore import MemoryStore

from ..objects import ObjectStore
from .base import Context
from .config import ControllerConfig

Obj = dict[str, Any]


class FakeClock:
    """Wall and monotonic time that only move when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._t = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._t

    def monotonic(self) -> float:
        return self()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._t += seconds


def make_context(clock: FakeClock | None = None, **config: Any) -> tuple[Context, FakeClock]:
    clock = clock or FakeClock()
    # tests drive syncs by hand, each right after the last (the queue's
    # throttle runs on real time): only its own tests turn it on
    config.setdefault("sync_throttle", 0.0)
    cfg = ControllerConfig(clock=clock, monotonic=clock.monotonic, **config)
    objects = ObjectStore(MemoryStore(), clock=clock)
    return Context(objects, cfg), clock


def node(name: str, cpu: str = "4", memory: str = "8Gi", pods: int = 110, ready: bool = True,
         labels: dict | None = None, taints: list | None = None,
         unschedulable: bool = False) -> Obj:
    spec: Obj = {}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name,
                     "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": str(pods)},
            "capacity": {"cpu": cpu, "memory": memory, "pods": str(pods)},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False",
                            "reason": "KubeletReady" if ready else "KubeletNotReady"}],
            "addresses": [{"type": "InternalIP", "address": "10.250.0.11"}],
        },
    }


def pod(name: str, namespace: str = "default", cpu: str | None = None,
        memory: str | None = None, node_name: str | None = None,
        labels: dict | None = None, owner: Obj | None = None, phase: str = "Pending",
        ready: bool = False, ip: str | None = None, **spec: Any) -> Obj:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container: Obj = {"name": "app", "image": "cox/demo:latest"}
    if requests:
        container["resources"] = {"requests": requests}
    meta: Obj = {"name": name, "namespace": namespace, "labels": labels or {}}
    if owner is not None:
        meta["ownerReferences"] = [owner]
    status: Obj = {"phase": phase}
    if ready:
        status["conditions"] = [{"type": "Ready", "status": "True"}]
    if ip:
        status["podIP"] = ip
    body: Obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                 "spec": {"containers": [container], "schedulerName": "default-scheduler",
                          **spec},
                 "status": status}
    if node_name:
        body["spec"]["nodeName"] = node_name
    return body
