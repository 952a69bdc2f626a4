"""Which PersistentVolume a claim may bind to (pure; Kubernetes' FindMatchingVolume).

A volume fits a claim when it is not bound to another claim, its capacity is
at least the request, it offers every access mode asked for, its class is the
claim's (a claim with class "" wants a volume without one), the claim's
selector matches its labels, and (when a node is given) its node affinity
admits that node. Of the fitting volumes the smallest wins; one already
pre-bound to the claim (``claimRef``) wins over all.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from coxapi import labels
from coxapi.kinds.storageclass import is_default
from coxapi.quantity import QuantityError, parse_memory

from ..scheduler.filters import term_matches

Obj = dict[str, Any]


def _bytes(value: Any) -> int:
    try:
        return parse_memory(value) if value is not None else 0
    except QuantityError:
        return 0


def requested(claim: Obj) -> int:
    resources = (claim.get("spec") or {}).get("resources") or {}
    return _bytes((resources.get("requests") or {}).get("storage"))


def capacity(pv: Obj) -> int:
    return _bytes(((pv.get("spec") or {}).get("capacity") or {}).get("storage"))


def claim_class(claim: Obj, default_class: str | None) -> str:
    """The class a claim asks for: its own, else the default one (None -> "")."""
    cls = (claim.get("spec") or {}).get("storageClassName")
    if cls is None:
        return default_class or ""
    return str(cls)


def node_admits(pv: Obj, node: Obj) -> bool:
    """The volume's required node affinity admits ``node`` (no affinity: any node)."""
    required = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required"))
    if not required:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def bound_elsewhere(pv: Obj, claim: Obj) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    meta = claim["metadata"]
    if ref.get("name") != meta["name"] or ref.get("namespace") != meta.get("namespace"):
        return True
    return bool(ref.get("uid")) and ref.get("uid") != meta.get("uid")


def fits(claim: Obj, pv: Obj, default_class: str | None = None, node: Obj | None = None) -> bool:
    cspec, vspec = claim.get("spec") or {}, pv.get("spec") or {}
    if bound_elsewhere(pv, claim) or (pv.get("metadata") or {}).get("deletionTimestamp"):
        return False
    if (pv.get("status") or {}).get("phase") in ("Released", "Failed"):
        return False
    if capacity(pv) < requested(claim):
        return False
    if not set(cspec.get("accessModes") or []) <= set(vspec.get("accessModes") or []):
        return False
    if claim_class(claim, default_class) != (vspec.get("storageClassName") or ""):
        return False
    if cspec.get("selector") is not None:
        try:
            sel = labels.from_label_selector(cspec["selector"])
        except labels.SelectorError:
            return False
        if not labels.matches(sel, pv["metadata"].get("labels")):
            return False
    return node is None or node_admits(pv, node)


def best_volume(claim: Obj, pvs: Iterable[Obj], default_class: str | None = None,
                node: Obj | None = None) -> Obj | None:
    """The volume the claim should bind to, or None."""
    wanted = (claim.get("spec") or {}).get("volumeName")
    candidates = [pv for pv in pvs if fits(claim, pv, default_class, node)]
    if wanted:
        return next((pv for pv in candidates if pv["metadata"]["name"] == wanted), None)
    prebound = [pv for pv in candidates if (pv.get("spec") or {}).get("claimRef")]
    if prebound:
        return prebound[0]
    candidates.sort(key=lambda pv: (capacity(pv), pv["metadata"]["name"]))
    return candidates[0] if candidates else None


def default_class_name(classes: Iterable[Obj]) -> str | None:
    """The default StorageClass (annotated); with several, the newest, as Kubernetes."""
    defaults = sorted((c for c in classes if is_default(c)),
                      key=lambda c: (c["metadata"].get("creationTimestamp", ""),
                                     c["metadata"]["name"]))
    return defaults[-1]["metadata"]["name"] if defaults else None
