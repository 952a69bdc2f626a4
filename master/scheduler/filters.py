"""Filters: may this pod run on this node? Each returns the reasons it may
not (kube-scheduler's wording, counted into the FailedScheduling message),
or an empty list. They read the pod and the NodeInfo and change nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .resources import pod_requests
from .snapshot import NodeInfo

Obj = dict[str, Any]
Filter = Callable[[Obj, NodeInfo], list[str]]
F = TypeVar("F", bound=Callable[..., list[str]])

NOT_READY = "node(s) were not ready"
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
TOO_MANY_PODS = "Too many pods"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def skipped_when(nothing_to_check: Callable[[Obj], bool]) -> Callable[[F], F]:
    """Marks a filter that has nothing to check for some pods (no node selector,
    no claims): it is not run for them, on any node (kube-scheduler's PreFilter
    answering Skip). A decision meets every node, so a filter that only finds
    out per node that it has nothing to do costs a call per node."""
    def mark(f: F) -> F:
        f.__dict__["nothing_to_check"] = nothing_to_check
        return f
    return mark


def needed_for(pod: Obj, filters: Sequence[Filter]) -> list[Filter]:
    """The filters that have something to check for ``pod``."""
    out = []
    for f in filters:
        skip = getattr(f, "nothing_to_check", None)
        if skip is None or not skip(pod):
            out.append(f)
    return out


def toleration_matches(tol: Obj, taint: Obj) -> bool:
    """Kubernetes' ToleratesTaint: an empty effect matches every effect, an
    empty key with ``Exists`` matches every key."""
    effect = tol.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = tol.get("key") or ""
    op = tol.get("operator") or "Equal"
    if key and key != taint.get("key"):
        return False
    if op == "Exists":
        return True
    if not key:  # Equal with an empty key is invalid; it tolerates nothing
        return False
    return (tol.get("value") or "") == (taint.get("value") or "")


def tolerated(taint: Obj, tolerations: list[Obj]) -> bool:
    return any(toleration_matches(t, taint) for t in tolerations)


def _tolerations(pod: Obj) -> list[Obj]:
    return (pod.get("spec") or {}).get("tolerations") or []


def node_ready(pod: Obj, info: NodeInfo) -> list[str]:
    return [] if info.ready else [NOT_READY]


def node_schedulable(pod: Obj, info: NodeInfo) -> list[str]:
    if not info.unschedulable:
        return []
    taint = {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule"}
    return [] if tolerated(taint, _tolerations(pod)) else [UNSCHEDULABLE]


def taints_tolerated(pod: Obj, info: NodeInfo) -> list[str]:
    if not info.hard_taints:
        return []
    tols = _tolerations(pod)
    for taint in info.hard_taints:
        if not tolerated(taint, tols):
            return [f"node(s) had untolerated taint {{{taint.get('key', '')}: "
                    f"{taint.get('value', '')}}}"]
    return []


def _expression_matches(expr: Obj, values_of: dict[str, str]) -> bool:
    key, op = expr.get("key", ""), expr.get("operator", "")
    values = [str(v) for v in expr.get("values") or []]
    present = key in values_of
    if op == "In":
        return present and values_of[key] in values
    if op == "NotIn":
        return not present or values_of[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        if not present or len(values) != 1:
            return False
        try:
            have, want = int(values_of[key]), int(values[0])
        except ValueError:
            return False
        return have > want if op == "Gt" else have < want
    return False


def term_matches(term: Obj, node: Obj) -> bool:
    """One NodeSelectorTerm: all its expressions and fields hold. A term with
    neither matches nothing (as in Kubernetes)."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = node.get("metadata", {}).get("labels") or {}
    field_values = {"metadata.name": node.get("metadata", {}).get("name", "")}
    return (all(_expression_matches(e, labels) for e in exprs)
            and all(_expression_matches(f, field_values) for f in fields))


def required_affinity_matches(pod: Obj, node: Obj) -> bool:
    spec = pod.get("spec") or {}
    labels = node.get("metadata", {}).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != str(v):
            return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if required is None:
        return True
    # The terms are ORed; an empty list matches no node.
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def _no_required_affinity(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    return not spec.get("nodeSelector") and (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {})
        .get("requiredDuringSchedulingIgnoredDuringExecution")) is None


@skipped_when(_no_required_affinity)
def node_affinity(pod: Obj, info: NodeInfo) -> list[str]:
    return [] if required_affinity_matches(pod, info.node) else [AFFINITY_MISMATCH]


def resources_fit(pod: Obj, info: NodeInfo) -> list[str]:
    reasons = []
    if len(info.pods) + 1 > info.allowed_pods:
        reasons.append(TOO_MANY_PODS)
    want, alloc, used = pod_requests(pod), info.allocatable, info.requested
    if want.cpu > 0 and want.cpu > alloc.cpu - used.cpu:
        reasons.append("Insufficient cpu")
    if want.memory > 0 and want.memory > alloc.memory - used.memory:
        reasons.append("Insufficient memory")
    return reasons


# kube-scheduler's order: cheap structural checks first; the first filter
# that fails names the node's reasons.
DEFAULT_FILTERS: tuple[Filter, ...] = (
    node_ready, node_schedulable, taints_tolerated, node_affinity, resources_fit,
)
