"""The rules about what may change on update (immutable fields); each kind's
strategy (``coxapi.kinds``) calls its own."""

from __future__ import annotations

from typing import Any

from .common import Errors, is_int

Obj = dict[str, Any]

# Pod spec fields that may change after creation (Kubernetes allows image,
# activeDeadlineSeconds and tolerations additions; everything else is fixed).
_MUTABLE_POD_FIELDS = ("activeDeadlineSeconds", "tolerations")


def pod_update(errs: Errors, old: Obj, new: Obj) -> None:
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    if not isinstance(os_, dict) or not isinstance(ns_, dict):
        return
    masked_old = {k: v for k, v in os_.items() if k not in _MUTABLE_POD_FIELDS}
    masked_new = {k: v for k, v in ns_.items() if k not in _MUTABLE_POD_FIELDS}
    for key in ("containers", "initContainers"):
        oc, nc = masked_old.get(key), masked_new.get(key)
        if isinstance(oc, list) and isinstance(nc, list) and len(oc) == len(nc):
            masked_old[key] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                               for c in oc]
            masked_new[key] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                               for c in nc]
    # nodeName may be set once (binding), never changed.
    if not os_.get("nodeName"):
        masked_old.pop("nodeName", None)
        masked_new.pop("nodeName", None)
    if masked_old != masked_new:
        changed = sorted(k for k in set(masked_old) | set(masked_new)
                         if masked_old.get(k) != masked_new.get(k))
        errs.add(f"spec.{changed[0]}" if changed else "spec",
                 "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
                 "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing "
                 "tolerations)")
    old_tols = os_.get("tolerations") or []
    new_tols = ns_.get("tolerations") or []
    if (isinstance(old_tols, list) and isinstance(new_tols, list)
            and any(t not in new_tols for t in old_tols)):
        errs.add("spec.tolerations", "Forbidden: existing toleration can not be modified or removed")
    old_ad, new_ad = os_.get("activeDeadlineSeconds"), ns_.get("activeDeadlineSeconds")
    if old_ad is not None and (new_ad is None or (is_int(new_ad) and new_ad > old_ad)):
        errs.add("spec.activeDeadlineSeconds",
                 "Forbidden: must be less than or equal to the previous value and may not be unset")


def service_update(errs: Errors, old: Obj, new: Obj) -> None:
    oip = (old.get("spec") or {}).get("clusterIP")
    nip = (new.get("spec") or {}).get("clusterIP") if isinstance(new.get("spec"), dict) else None
    if oip and nip != oip:
        errs.add("spec.clusterIP", "Invalid value: field is immutable")


def workload_update(errs: Errors, old: Obj, new: Obj) -> None:
    osel = (old.get("spec") or {}).get("selector")
    nsel = (new.get("spec") or {}).get("selector") if isinstance(new.get("spec"), dict) else None
    if osel != nsel:
        errs.add("spec.selector", "Invalid value: field is immutable")


def node_update(errs: Errors, old: Obj, new: Obj) -> None:
    ocidr = (old.get("spec") or {}).get("podCIDR")
    ncidr = (new.get("spec") or {}).get("podCIDR") if isinstance(new.get("spec"), dict) else None
    if ocidr and ncidr != ocidr:
        errs.add("spec.podCIDR", "Forbidden: podCIDR cannot be changed once set")
