"""Defaults and validation of PersistentVolumes, PersistentVolumeClaims (v1)
and StorageClasses (storage.k8s.io/v1)."""

from __future__ import annotations

from typing import Any

from .. import quantity
from .common import REQUIRED, Errors, is_str, one_of

Obj = dict[str, Any]

ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Retain", "Delete")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_MODES = ("Filesystem",)
PV_SOURCES = ("hostPath", "local")
# Kubernetes: a PV's spec is mutable except its source; a claim's only in its resources.
PVC_MUTABLE = ("resources", "volumeName")


def pv_defaults(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")


def pvc_defaults(obj: Obj) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")


def storage_class_defaults(obj: Obj) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def _size(errs: Errors, field: str, value: Any) -> None:
    if value is None:
        errs.add(field, REQUIRED)
        return
    try:
        if quantity.parse_memory(value) <= 0:
            errs.add(field, f"Invalid value: {value!r}: must be greater than zero")
    except quantity.QuantityError as e:
        errs.add(field, f"Invalid value: {value!r}: {e}")


def _access_modes(errs: Errors, field: str, modes: Any) -> None:
    if not isinstance(modes, list) or not modes:
        errs.add(field, REQUIRED)
        return
    for i, m in enumerate(modes):
        one_of(errs, f"{field}[{i}]", m, ACCESS_MODES)


def _node_affinity(errs: Errors, field: str, affinity: Any) -> None:
    if affinity is None:
        return
    required = (affinity or {}).get("required") if isinstance(affinity, dict) else None
    if not isinstance(required, dict):
        errs.add(f"{field}.required", REQUIRED)
        return
    terms = required.get("nodeSelectorTerms")
    if not isinstance(terms, list) or not terms:
        errs.add(f"{field}.required.nodeSelectorTerms", "must have at least one node selector "
                                                        "term")


def validate_pv(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    _size(errs, "spec.capacity.storage", (spec.get("capacity") or {}).get("storage")
          if isinstance(spec.get("capacity"), dict) else None)
    _access_modes(errs, "spec.accessModes", spec.get("accessModes"))
    present = [s for s in PV_SOURCES if spec.get(s) is not None]
    if len(present) != 1:
        errs.add("spec", "must specify exactly 1 volume type (one of "
                         + ", ".join(PV_SOURCES) + ")")
    else:
        path = (spec[present[0]] or {}).get("path") if isinstance(spec[present[0]], dict) \
            else None
        if not is_str(path) or not path.startswith("/"):
            errs.add(f"spec.{present[0]}.path", "must be an absolute path")
    if spec.get("local") is not None and spec.get("nodeAffinity") is None:
        errs.add("spec.nodeAffinity", "Required value: Local volume requires node affinity")
    _node_affinity(errs, "spec.nodeAffinity", spec.get("nodeAffinity"))
    one_of(errs, "spec.persistentVolumeReclaimPolicy",
           spec.get("persistentVolumeReclaimPolicy", "Retain"), RECLAIM_POLICIES)
    one_of(errs, "spec.volumeMode", spec.get("volumeMode", "Filesystem"), VOLUME_MODES)
    ref = spec.get("claimRef")
    if ref is not None and (not isinstance(ref, dict) or not ref.get("name")):
        errs.add("spec.claimRef.name", REQUIRED)


def validate_pvc(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    _access_modes(errs, "spec.accessModes", spec.get("accessModes"))
    resources = spec.get("resources")
    requests = resources.get("requests") if isinstance(resources, dict) else None
    _size(errs, "spec.resources.requests[storage]",
          requests.get("storage") if isinstance(requests, dict) else None)
    for f in ("storageClassName", "volumeName"):
        if spec.get(f) is not None and not is_str(spec[f]):
            errs.add(f"spec.{f}", "must be a string")
    one_of(errs, "spec.volumeMode", spec.get("volumeMode", "Filesystem"), VOLUME_MODES)


def validate_pvc_update(errs: Errors, old: Obj, new: Obj) -> None:
    ospec, nspec = old.get("spec") or {}, new.get("spec")
    if not isinstance(nspec, dict):
        return
    for key in sorted(set(ospec) | set(nspec)):
        if key in PVC_MUTABLE or ospec.get(key) == nspec.get(key):
            continue
        if key == "storageClassName" and ospec.get(key) is None:
            continue  # the default class may be filled in later (as in Kubernetes)
        errs.add(f"spec.{key}", "Forbidden: spec is immutable after creation except "
                                "resources.requests and volumeName of an unbound claim")
    if ospec.get("volumeName") and nspec.get("volumeName") != ospec.get("volumeName"):
        errs.add("spec.volumeName", "Forbidden: the claim is bound to a volume")


def validate_pv_update(errs: Errors, old: Obj, new: Obj) -> None:
    ospec, nspec = old.get("spec") or {}, new.get("spec")
    if not isinstance(nspec, dict):
        return
    for key in PV_SOURCES:
        if ospec.get(key) != nspec.get(key):
            errs.add(f"spec.{key}", "Forbidden: spec.persistentvolumesource is immutable "
                                    "after creation")


def validate_storage_class(errs: Errors, obj: Obj) -> None:
    if not is_str(obj.get("provisioner")) or not obj.get("provisioner"):
        errs.add("provisioner", REQUIRED)
    one_of(errs, "reclaimPolicy", obj.get("reclaimPolicy", "Delete"), RECLAIM_POLICIES)
    one_of(errs, "volumeBindingMode", obj.get("volumeBindingMode", "Immediate"), BINDING_MODES)
    params = obj.get("parameters")
    if params is not None and (not isinstance(params, dict)
                               or not all(is_str(v) for v in params.values())):
        errs.add("parameters", "must be a map of string keys to string values")


def validate_storage_class_update(errs: Errors, old: Obj, new: Obj) -> None:
    for key in ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"):
        if old.get(key) != new.get(key):
            errs.add(key, "Forbidden: updates to " + key + " are forbidden.")
