"""Validation of Nodes and their heartbeat Leases."""

from __future__ import annotations

from typing import Any

from .common import REQUIRED, TAINT_EFFECTS, Errors, nonneg_int, one_of

Obj = dict[str, Any]


def validate_node(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if spec is None:
        return
    if not isinstance(spec, dict):
        errs.add("spec", "must be an object")
        return
    for i, t in enumerate(spec.get("taints") or []):
        f = f"spec.taints[{i}]"
        if not isinstance(t, dict) or not t.get("key"):
            errs.add(f"{f}.key", REQUIRED)
            continue
        one_of(errs, f"{f}.effect", t.get("effect"), TAINT_EFFECTS)
    if spec.get("unschedulable") not in (None, True, False):
        errs.add("spec.unschedulable", "must be a boolean")


def validate_lease(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        errs.add("spec", "must be an object")
        return
    nonneg_int(errs, "spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"), 1)
    nonneg_int(errs, "spec.leaseTransitions", spec.get("leaseTransitions"))
