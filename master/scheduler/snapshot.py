"""The scheduler's view of the cluster: nodes and the pods bound (or assumed
bound) to them, with the running totals the filters and scores need."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from coxapi.meta import controller_ref, key_of, node_is_ready

from .resources import Resources, node_allocatable, pod_is_terminated, pod_requests

Obj = dict[str, Any]


def owner_uid(pod: Obj) -> str | None:
    ref = controller_ref(pod)
    return ref.get("uid") if ref else None


@dataclass(slots=True)
class _PodEntry:
    requests: Resources
    score_requests: Resources
    owner: str | None


NO_SCHEDULE_EFFECTS = ("NoSchedule", "NoExecute")  # taints a pod must tolerate to land


@dataclass
class NodeInfo:
    node: Obj
    pods: dict[str, _PodEntry] = field(default_factory=dict)
    requested: Resources = Resources()
    score_requested: Resources = Resources()
    owners: Counter = field(default_factory=Counter)
    # What the filters and scores read of the node, worked out when it changes
    # rather than for every pod scheduled (a decision meets every node).
    name: str = field(init=False, default="")
    ready: bool = field(init=False, default=False)
    unschedulable: bool = field(init=False, default=False)
    hard_taints: list[Obj] = field(init=False, default_factory=list)  # NoSchedule, NoExecute
    soft_taints: list[Obj] = field(init=False, default_factory=list)  # PreferNoSchedule

    def __post_init__(self) -> None:
        self.set_node(self.node)

    def set_node(self, node: Obj) -> None:
        self.node = node
        self.allocatable, self.allowed_pods = node_allocatable(node)
        meta, spec = node.get("metadata") or {}, node.get("spec") or {}
        self.name = meta.get("name", "")
        self.ready = node_is_ready(node)
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = spec.get("taints") or []
        self.hard_taints = [t for t in taints if t.get("effect") in NO_SCHEDULE_EFFECTS]
        self.soft_taints = [t for t in taints if t.get("effect") == "PreferNoSchedule"]

    def add_pod(self, pod: Obj) -> None:
        key = key_of(pod)
        self.remove_pod(key)
        entry = _PodEntry(pod_requests(pod), pod_requests(pod, non_zero=True), owner_uid(pod))
        self.pods[key] = entry
        self.requested += entry.requests
        self.score_requested += entry.score_requests
        if entry.owner:
            self.owners[entry.owner] += 1

    def remove_pod(self, key: str) -> None:
        entry = self.pods.pop(key, None)
        if entry is None:
            return
        self.requested -= entry.requests
        self.score_requested -= entry.score_requests
        if entry.owner:
            self.owners[entry.owner] -= 1
            if self.owners[entry.owner] <= 0:
                del self.owners[entry.owner]


class Snapshot:
    """Nodes by name with their pods. ``schedule`` only reads it; the loop
    keeps one up to date from the informers and its own assumptions."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self._pod_node: dict[str, str] = {}
        # pods bound to a node the snapshot does not know (yet)
        self._orphans: dict[str, tuple[str, Obj]] = {}

    @classmethod
    def build(cls, nodes: list[Obj], pods: list[Obj]) -> Snapshot:
        snap = cls()
        for n in nodes:
            snap.set_node(n)
        for p in pods:
            snap.set_pod(p)
        return snap

    def set_node(self, node: Obj) -> None:
        name = node.get("metadata", {}).get("name", "")
        info = self.nodes.get(name)
        if info is None:
            self.nodes[name] = NodeInfo(node)
            for key, (node_name, pod) in list(self._orphans.items()):
                if node_name == name:
                    del self._orphans[key]
                    self.set_pod(pod)
        else:
            info.set_node(node)

    def remove_node(self, name: str) -> None:
        info = self.nodes.pop(name, None)
        if info is None:
            return
        for key in list(info.pods):
            self._pod_node.pop(key, None)

    def set_pod(self, pod: Obj) -> None:
        """Account a pod on its node; unbound or terminated pods hold nothing."""
        key = key_of(pod)
        node_name = (pod.get("spec") or {}).get("nodeName")
        if not node_name or pod_is_terminated(pod):
            self.remove_pod(key)
            return
        if self._pod_node.get(key) not in (None, node_name):
            self.remove_pod(key)
        info = self.nodes.get(node_name)
        if info is None:
            self._orphans[key] = (node_name, pod)
            return
        info.add_pod(pod)
        self._pod_node[key] = node_name

    def remove_pod(self, key: str) -> None:
        self._orphans.pop(key, None)
        node_name = self._pod_node.pop(key, None)
        if node_name and node_name in self.nodes:
            self.nodes[node_name].remove_pod(key)

    def node_of(self, key: str) -> str | None:
        return self._pod_node.get(key)
