"""Validation of ``metadata``: names per kind, namespace, labels, annotations, owners."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .common import (
    REQUIRED,
    Errors,
    annotation_map,
    dns1123_label,
    is_str,
    label_map,
    object_list,
)

Obj = dict[str, Any]

def _owner_refs(errs: Errors, field: str, refs: Any) -> None:
    controllers = 0
    for f, ref in object_list(errs, field, refs):
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key) or not is_str(ref.get(key)):
                errs.add(f"{f}.{key}", REQUIRED)
        if ref.get("controller"):
            controllers += 1
    if controllers > 1:
        errs.add(field, "only one reference can have Controller set to true")


def validate_metadata(errs: Errors, obj: Obj, name_check: Callable[[str], str | None],
                      namespaced: bool) -> None:
    """``name_check`` is the kind's rule for names (DNS-1123 subdomain, label, ...)."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errs.add("metadata", REQUIRED)
        return
    name = meta.get("name")
    if not name:
        errs.add("metadata.name", "name or generateName is required")
    elif not is_str(name):
        errs.add("metadata.name", "must be a string")
    else:
        msg = name_check(name)
        if msg:
            errs.add("metadata.name", f"Invalid value: {name!r}: {msg}")
    if namespaced:
        ns = meta.get("namespace")
        if not ns:
            errs.add("metadata.namespace", REQUIRED)
        elif not is_str(ns) or dns1123_label(ns):
            errs.add("metadata.namespace", f"Invalid value: {ns!r}: must be a DNS-1123 label")
    elif meta.get("namespace"):
        errs.add("metadata.namespace", "not allowed on this type (it is cluster-scoped)")
    label_map(errs, "metadata.labels", meta.get("labels"))
    annotation_map(errs, "metadata.annotations", meta.get("annotations"))
    _owner_refs(errs, "metadata.ownerReferences", meta.get("ownerReferences"))
    fin = meta.get("finalizers")
    if fin is not None and (not isinstance(fin, list) or not all(is_str(f) for f in fin)):
        errs.add("metadata.finalizers", "must be a list of strings")
