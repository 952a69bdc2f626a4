"""The ``scale`` subresource: an ``autoscaling/v1`` Scale view of a workload. Pure."""

from __future__ import annotations

import copy
from typing import Any

from coxapi import errors
from coxapi import labels as labelsel
from coxapi.validation.common import Errors, nonneg_int

Obj = dict[str, Any]


def to_scale(obj: Obj) -> Obj:
    meta = obj.get("metadata", {})
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    try:
        selector = labelsel.to_string(labelsel.from_label_selector(spec.get("selector")))
    except labelsel.SelectorError:
        selector = ""
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                          "creationTimestamp") if k in meta},
        "spec": {"replicas": int(spec.get("replicas", 0))},
        "status": {"replicas": int(status.get("replicas", 0)), "selector": selector},
    }


def apply_scale(obj: Obj, scale: Any) -> Obj:
    """The workload with ``spec.replicas`` from ``scale``; its resourceVersion, if
    given, becomes the precondition of the update."""
    if not isinstance(scale, dict):
        raise errors.BadRequest("the body must be a Scale object")
    if scale.get("kind") not in (None, "Scale"):
        raise errors.BadRequest(f"the body must be a Scale object, not {scale.get('kind')!r}")
    replicas = (scale.get("spec") or {}).get("replicas") if isinstance(scale.get("spec"), dict) else None
    errs = Errors()
    nonneg_int(errs, "spec.replicas", replicas)
    if replicas is None:
        errs.add("spec.replicas", "Invalid value: None: must be an integer >= 0")
    if errs:
        raise errors.Invalid.fields("Scale", obj["metadata"]["name"], errs.causes)
    new = copy.deepcopy(obj)
    new.setdefault("spec", {})["replicas"] = replicas
    rv = (scale.get("metadata") or {}).get("resourceVersion")
    if rv:
        new["metadata"]["resourceVersion"] = rv
    return new
