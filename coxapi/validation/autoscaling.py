"""Validation of HorizontalPodAutoscalers (autoscaling/v2)."""

from __future__ import annotations

from typing import Any

from .common import REQUIRED, Errors, is_int, is_str, nonneg_int, object_list, one_of

Obj = dict[str, Any]

RESOURCES = ("cpu", "memory")
POLICY_TYPES = ("Pods", "Percent")
SELECT_POLICIES = ("Max", "Min", "Disabled")


def validate_hpa(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    ref = spec.get("scaleTargetRef")
    if not isinstance(ref, dict):
        errs.add("spec.scaleTargetRef", REQUIRED)
    else:
        for key in ("kind", "name"):
            if not is_str(ref.get(key)) or not ref[key]:
                errs.add(f"spec.scaleTargetRef.{key}", REQUIRED)
    low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
    nonneg_int(errs, "spec.minReplicas", low, 1)
    if high is None:
        errs.add("spec.maxReplicas", REQUIRED)
    else:
        nonneg_int(errs, "spec.maxReplicas", high, 1)
        if is_int(low) and is_int(high) and int(high) < int(low):
            errs.add("spec.maxReplicas", "Invalid value: must be greater than or equal to "
                                         "`minReplicas`")
    for f, m in object_list(errs, "spec.metrics", spec.get("metrics")):
        # Only resource metrics exist here: the agents measure CPU and memory.
        if not one_of(errs, f"{f}.type", m.get("type"), ("Resource",)):
            continue
        r = m.get("resource")
        if not isinstance(r, dict):
            errs.add(f"{f}.resource", REQUIRED)
            continue
        one_of(errs, f"{f}.resource.name", r.get("name"), RESOURCES)
        target = r.get("target")
        if not isinstance(target, dict):
            errs.add(f"{f}.resource.target", REQUIRED)
            continue
        if one_of(errs, f"{f}.resource.target.type", target.get("type"),
                  ("Utilization", "AverageValue")):
            if target["type"] == "Utilization":
                nonneg_int(errs, f"{f}.resource.target.averageUtilization",
                           target.get("averageUtilization"), 1)
                if target.get("averageUtilization") is None:
                    errs.add(f"{f}.resource.target.averageUtilization", REQUIRED)
            elif target.get("averageValue") is None:
                errs.add(f"{f}.resource.target.averageValue", REQUIRED)
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        for direction in ("scaleUp", "scaleDown"):
            rules = behavior.get(direction)
            if isinstance(rules, dict):
                _rules(errs, f"spec.behavior.{direction}", rules)


def _rules(errs: Errors, field: str, rules: Obj) -> None:
    window = rules.get("stabilizationWindowSeconds")
    nonneg_int(errs, f"{field}.stabilizationWindowSeconds", window)
    if isinstance(window, int) and window > 3600:
        errs.add(f"{field}.stabilizationWindowSeconds",
                 f"Invalid value: {window}: must be less than or equal to 3600")
    one_of(errs, f"{field}.selectPolicy", rules.get("selectPolicy", "Max"), SELECT_POLICIES)
    for f, p in object_list(errs, f"{field}.policies", rules.get("policies")):
        one_of(errs, f"{f}.type", p.get("type"), POLICY_TYPES)
        nonneg_int(errs, f"{f}.value", p.get("value"), 1)
        period = p.get("periodSeconds")
        nonneg_int(errs, f"{f}.periodSeconds", period, 1)
        if isinstance(period, int) and period > 1800:
            errs.add(f"{f}.periodSeconds", f"Invalid value: {period}: must be at most 1800")
