"""Validation of ReplicaSets and Deployments."""

from __future__ import annotations

from typing import Any

from .. import labels as labelsel
from .common import REQUIRED, Errors, int_or_percent, label_map, label_selector, nonneg_int
from .pods import validate_pod_spec

Obj = dict[str, Any]


def validate_workload(errs: Errors, obj: Obj, restart_policies: tuple[str, ...] = ("Always",)) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    nonneg_int(errs, "spec.replicas", spec.get("replicas"))
    nonneg_int(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    before = len(errs.causes)
    selector = label_selector(errs, "spec.selector", spec.get("selector"))
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        errs.add("spec.template", REQUIRED)
        return
    tmeta = tmpl.get("metadata")
    tmeta = tmeta if isinstance(tmeta, dict) else {}
    label_map(errs, "spec.template.metadata.labels", tmeta.get("labels"))
    if len(errs.causes) == before and selector and not labelsel.matches(selector, tmeta.get("labels")):
        errs.add("spec.template.metadata.labels",
                 "Invalid value: `selector` does not match template `labels`")
    validate_pod_spec(errs, "spec.template.spec", tmpl.get("spec"))
    rp = (tmpl.get("spec") or {}).get("restartPolicy") if isinstance(tmpl.get("spec"), dict) else None
    if rp not in (None, *restart_policies):
        errs.add("spec.template.spec.restartPolicy", f"Unsupported value: {rp!r}: supported values: "
                                                     + ", ".join(f'"{p}"' for p in restart_policies))


def validate_deployment(errs: Errors, obj: Obj) -> None:
    validate_workload(errs, obj)
    spec = obj.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("template"), dict):
        _deployment_extra(errs, spec)


def _deployment_extra(errs: Errors, spec: Obj) -> None:
    nonneg_int(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    nonneg_int(errs, "spec.progressDeadlineSeconds", spec.get("progressDeadlineSeconds"), 1)
    strategy = spec.get("strategy") or {}
    if not isinstance(strategy, dict):
        errs.add("spec.strategy", "must be an object")
        return
    stype = strategy.get("type", "RollingUpdate")
    if stype not in ("RollingUpdate", "Recreate"):
        errs.add("spec.strategy.type", f"Unsupported value: {stype!r}: supported values: "
                                       "Recreate, RollingUpdate")
    ru = strategy.get("rollingUpdate")
    if stype == "Recreate" and ru:
        errs.add("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    if stype == "RollingUpdate" and isinstance(ru, dict):
        surge, unavail = ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%")
        int_or_percent(errs, "spec.strategy.rollingUpdate.maxSurge", surge)
        int_or_percent(errs, "spec.strategy.rollingUpdate.maxUnavailable", unavail)
        if surge in (0, "0%") and unavail in (0, "0%"):
            errs.add("spec.strategy.rollingUpdate.maxUnavailable",
                     "may not be 0 when `maxSurge` is 0")


def validate_daemon_set(errs: Errors, obj: Obj) -> None:
    validate_workload(errs, obj)
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    nonneg_int(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    strategy = spec.get("updateStrategy") or {}
    if not isinstance(strategy, dict):
        errs.add("spec.updateStrategy", "must be an object")
        return
    stype = strategy.get("type", "RollingUpdate")
    if stype not in ("RollingUpdate", "OnDelete"):
        errs.add("spec.updateStrategy.type", f"Unsupported value: {stype!r}: supported values: "
                                             "OnDelete, RollingUpdate")
    ru = strategy.get("rollingUpdate")
    if stype == "RollingUpdate" and isinstance(ru, dict):
        unavail = ru.get("maxUnavailable", 1)
        int_or_percent(errs, "spec.updateStrategy.rollingUpdate.maxUnavailable", unavail)
        if unavail in (0, "0%") and ru.get("maxSurge", 0) in (0, "0%"):
            errs.add("spec.updateStrategy.rollingUpdate.maxUnavailable",
                     "may not be 0 when `maxSurge` is 0")
