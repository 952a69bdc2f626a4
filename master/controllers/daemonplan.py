"""Pure: what the DaemonSet controller does next for one DaemonSet, given the
nodes and its pods.

- A node should run the daemon pod when the pod template's nodeSelector and
  required node affinity match it and the template's tolerations, plus the
  ones Kubernetes adds to every daemon pod, tolerate its NoSchedule and
  NoExecute taints (Kubernetes' NodeShouldRunDaemonPod).
- New pods are not bound here: each gets a required node affinity for its
  node's name (``matchFields metadata.name``) and the scheduler binds it, as
  in Kubernetes since 1.12, so resources are still checked.
- RollingUpdate replaces pods whose ``controller-revision-hash`` is not the
  template's: unavailable old pods go at once, available ones while fewer
  than ``maxUnavailable`` nodes are without an available pod. A node gets
  its new pod once the old one is gone.
- Finished pods are deleted and replaced; extra pods on one node and pods on
  nodes that should not run one are deleted.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from coxapi.meta import is_terminating

from ..scheduler.filters import required_affinity_matches, tolerated
from . import pods as podutil

Obj = dict[str, Any]

HASH_LABEL = "controller-revision-hash"
# The tolerations Kubernetes adds to every DaemonSet pod (daemon/util.AddOrUpdateDaemonPodTolerations).
DEFAULT_TOLERATIONS: tuple[Obj, ...] = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
)
HOST_NETWORK_TOLERATION: Obj = {"key": "node.kubernetes.io/network-unavailable",
                                "operator": "Exists", "effect": "NoSchedule"}


@dataclass
class DaemonPlan:
    status: Obj
    create: list[str] = field(default_factory=list)  # node names
    delete: list[Obj] = field(default_factory=list)
    requeue: float | None = None


def template_hash(ds: Obj) -> str:
    tmpl = (ds.get("spec") or {}).get("template") or {}
    text = json.dumps(tmpl, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def pod_spec(ds: Obj) -> Obj:
    """The template's pod spec with the daemon tolerations added."""
    spec = copy.deepcopy(((ds.get("spec") or {}).get("template") or {}).get("spec") or {})
    tols = list(spec.get("tolerations") or [])
    extra = [*DEFAULT_TOLERATIONS, *([HOST_NETWORK_TOLERATION] if spec.get("hostNetwork") else [])]
    for t in extra:
        if not any(x.get("key") == t["key"] and x.get("effect") == t["effect"] for x in tols):
            tols.append(dict(t))
    spec["tolerations"] = tols
    return spec


def pinned_to(spec: Obj, node: str) -> Obj:
    """``spec`` with a required node affinity for exactly ``node`` (replacing
    any matchFields the template had, as Kubernetes' ReplaceDaemonSetPodNodeNameNodeAffinity)."""
    spec = copy.deepcopy(spec)
    term = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}
    affinity = spec.setdefault("affinity", {})
    na = affinity.setdefault("nodeAffinity", {})
    required = na.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    terms = required.get("nodeSelectorTerms") or []
    merged = [{**t, "matchFields": term["matchFields"]} for t in terms] or [term]
    na["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": merged}
    return spec


def should_run(spec: Obj, node: Obj) -> bool:
    if not required_affinity_matches({"spec": spec}, node):
        return False
    tols = spec.get("tolerations") or []
    return all(tolerated(t, tols) for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") in ("NoSchedule", "NoExecute"))


def target_node(pod: Obj) -> str | None:
    """The node a daemon pod is on, or is pinned to while unscheduled."""
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return str(spec["nodeName"])
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and f.get("values"):
                return str(f["values"][0])
    return None


def max_unavailable(ds: Obj, desired: int) -> int:
    ru = (((ds.get("spec") or {}).get("updateStrategy") or {}).get("rollingUpdate") or {})
    value = ru.get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        n = math.ceil(desired * int(value[:-1]) / 100)
    else:
        n = int(value)
    return max(1, n) if desired else 0


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def decide(ds: Obj, nodes: list[Obj], pods: list[Obj], now: float) -> DaemonPlan:
    """``pods``: those the DaemonSet controls (its controller reference)."""
    spec = ds.get("spec") or {}
    current = template_hash(ds)
    min_ready = float(spec.get("minReadySeconds") or 0)
    rolling = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate"
    tmpl_spec = pod_spec(ds)
    eligible = {n["metadata"]["name"] for n in nodes if should_run(tmpl_spec, n)}
    plan = DaemonPlan(status={})

    by_node: dict[str, list[Obj]] = {}
    terminating: set[str] = set()
    for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        node = target_node(pod) or ""
        if is_terminating(pod):
            terminating.add(node)
        elif _finished(pod):
            plan.delete.append(pod)  # replaced by a new one
            terminating.add(node)
        else:
            by_node.setdefault(node, []).append(pod)

    def is_new(p: Obj) -> bool:
        return (p["metadata"].get("labels") or {}).get(HASH_LABEL) == current

    def available(p: Obj) -> bool:
        return podutil.available_in(p, min_ready, now) == 0

    misscheduled = 0
    keep: dict[str, Obj] = {}
    for node, live in by_node.items():
        if node not in eligible:
            plan.delete += live
            misscheduled += 1
            continue
        # one per node: the updated and available one first, else the oldest
        best = sorted(live, key=lambda p: (not is_new(p), not available(p)))[0]
        keep[node] = best
        plan.delete += [p for p in live if p is not best]

    recheck = [w for p in keep.values() if (w := podutil.available_in(p, min_ready, now))]
    if recheck:
        plan.requeue = min(recheck) + 0.01
    plan.create = sorted(n for n in eligible if n not in keep and n not in terminating)

    if rolling:
        unavailable = sum(1 for n in eligible if n not in keep or not available(keep[n]))
        budget = max_unavailable(ds, len(eligible)) - unavailable
        old = [p for p in keep.values() if not is_new(p)]
        for pod in sorted(old, key=available):  # unavailable old pods go first, for free
            if not available(pod):
                plan.delete.append(pod)
            elif budget > 0:
                plan.delete.append(pod)
                budget -= 1

    ready = [p for p in keep.values() if podutil.is_ready(p)]
    avail = [p for p in keep.values() if available(p)]
    plan.status = {
        "desiredNumberScheduled": len(eligible),
        "currentNumberScheduled": len(keep),
        "numberMisscheduled": misscheduled,
        "numberReady": len(ready),
        "updatedNumberScheduled": sum(1 for p in keep.values() if is_new(p)),
        "numberAvailable": len(avail),
        "numberUnavailable": len(eligible) - len(avail),
        "observedGeneration": ds["metadata"].get("generation", 1),
    }
    return plan
