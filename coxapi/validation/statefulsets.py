"""Defaults and validation of StatefulSets (apps/v1)."""

from __future__ import annotations

from typing import Any

from .. import defaults as common
from . import storage
from .common import Errors, dns1123_label, is_str, nonneg_int, object_list, one_of
from .workloads import validate_workload

Obj = dict[str, Any]

POLICIES = ("OrderedReady", "Parallel")
UPDATE_TYPES = ("RollingUpdate", "OnDelete")
# Kubernetes: every other spec field is immutable.
MUTABLE = ("replicas", "template", "updateStrategy", "minReadySeconds",
           "persistentVolumeClaimRetentionPolicy", "ordinals", "revisionHistoryLimit")


def defaults(obj: Obj) -> None:
    spec = obj.setdefault("spec", {}) if isinstance(obj.get("spec", {}), dict) else {}
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("minReadySeconds", 0)
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            ru = strategy.setdefault("rollingUpdate", {})
            if isinstance(ru, dict):
                ru.setdefault("partition", 0)
    spec.setdefault("persistentVolumeClaimRetentionPolicy",
                    {"whenDeleted": "Retain", "whenScaled": "Retain"})
    if isinstance(spec.get("template"), dict):
        common.pod_spec(spec["template"].setdefault("spec", {}))


def with_claim_volumes(obj: Obj) -> Obj:
    """``obj`` with a volume for each claim template in its pod template (what
    the controller gives each pod), so mounts may name the templates."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    templates, pod = spec.get("volumeClaimTemplates"), spec.get("template")
    if not isinstance(templates, list) or not isinstance(pod, dict) \
            or not isinstance(pod.get("spec"), dict):
        return obj
    volumes = pod["spec"].get("volumes") or []
    if not isinstance(volumes, list):
        return obj
    names = [(t.get("metadata") or {}).get("name") for t in templates if isinstance(t, dict)]
    extra = [{"name": n, "persistentVolumeClaim": {"claimName": n}} for n in names
             if is_str(n) and n and all((v or {}).get("name") != n for v in volumes)]
    pod_spec = {**pod["spec"], "volumes": volumes + extra}
    return {**obj, "spec": {**spec, "template": {**pod, "spec": pod_spec}}}


def validate(errs: Errors, obj: Obj) -> None:
    validate_workload(errs, with_claim_volumes(obj))
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("serviceName") not in (None, "") and (
            not is_str(spec["serviceName"]) or dns1123_label(spec["serviceName"])):
        errs.add("spec.serviceName", f"Invalid value: {spec['serviceName']!r}: must be a "
                                     "DNS-1123 label")
    one_of(errs, "spec.podManagementPolicy", spec.get("podManagementPolicy", "OrderedReady"),
           POLICIES)
    nonneg_int(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    strategy = spec.get("updateStrategy") or {}
    if not isinstance(strategy, dict):
        errs.add("spec.updateStrategy", "must be an object")
    else:
        one_of(errs, "spec.updateStrategy.type", strategy.get("type", "RollingUpdate"),
               UPDATE_TYPES)
        ru = strategy.get("rollingUpdate")
        if ru is not None and strategy.get("type") == "OnDelete":
            errs.add("spec.updateStrategy.rollingUpdate",
                     "only allowed for updateStrategy 'RollingUpdate'")
        elif isinstance(ru, dict):
            nonneg_int(errs, "spec.updateStrategy.rollingUpdate.partition", ru.get("partition"))
    for f, tmpl in object_list(errs, "spec.volumeClaimTemplates",
                               spec.get("volumeClaimTemplates")):
        name = (tmpl.get("metadata") or {}).get("name")
        if not is_str(name) or dns1123_label(name):
            errs.add(f"{f}.metadata.name", f"Invalid value: {name!r}: must be a DNS-1123 label")
        sub = Errors()
        storage.validate_pvc(sub, tmpl)
        for field, message in sub.causes:
            errs.add(f"{f}.{field}", message)


def validate_update(errs: Errors, old: Obj, new: Obj) -> None:
    ospec, nspec = old.get("spec") or {}, new.get("spec")
    if not isinstance(nspec, dict):
        return
    for key in sorted(set(ospec) | set(nspec)):
        if key not in MUTABLE and ospec.get(key) != nspec.get(key):
            errs.add(f"spec.{key}", "Forbidden: updates to statefulset spec for fields other "
                                    "than 'replicas', 'ordinals', 'template', 'updateStrategy', "
                                    "'persistentVolumeClaimRetentionPolicy' and "
                                    "'minReadySeconds' are forbidden")
