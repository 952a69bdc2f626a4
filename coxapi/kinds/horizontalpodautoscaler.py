"""HorizontalPodAutoscalers (autoscaling/v2, also served at autoscaling/v1
for ``kubectl autoscale``): scale a workload on the CPU or memory use its
pods report."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from coxapi import errors
from coxapi.validation import autoscaling
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Conversion, Kind
from .strategy import Strategy

Obj = dict[str, Any]


def _reference(o: Obj, now: datetime) -> str:
    ref = (o.get("spec") or {}).get("scaleTargetRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


def _targets(o: Obj, now: datetime) -> str:
    current = {(m.get("resource") or {}).get("name"): (m.get("resource") or {}).get("current")
               or {} for m in (o.get("status") or {}).get("currentMetrics") or []}
    parts = []
    for m in (o.get("spec") or {}).get("metrics") or [
            {"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]:
        r = m.get("resource") or {}
        target, cur = r.get("target") or {}, current.get(r.get("name")) or {}
        if target.get("type") == "Utilization":
            have = cur.get("averageUtilization")
            parts.append(f"{r.get('name')}: {'<unknown>' if have is None else f'{have}%'}/"
                         f"{target.get('averageUtilization')}%")
        else:
            parts.append(f"{r.get('name')}: {cur.get('averageValue', '<unknown>')}/"
                         f"{target.get('averageValue')}")
    return ", ".join(parts) or "<none>"


class HorizontalPodAutoscalerStrategy(Strategy):
    columns = (
        Column("REFERENCE", _reference),
        Column("TARGETS", _targets),
        Column("MINPODS", lambda o, now: str((o.get("spec") or {}).get("minReplicas", 1))),
        Column("MAXPODS", lambda o, now: str((o.get("spec") or {}).get("maxReplicas", ""))),
        Column("REPLICAS", lambda o, now: str((o.get("status") or {}).get("currentReplicas", 0))),
        AGE,
    )

    def defaults(self, obj: Obj) -> None:
        spec = obj.get("spec")
        if isinstance(spec, dict):
            spec.setdefault("minReplicas", 1)

    def validate(self, errs: Errors, obj: Obj) -> None:
        autoscaling.validate_hpa(errs, obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}


# ---- autoscaling/v1 -----------------------------------------------------------
# v1 has one target, CPU utilisation. Kubernetes keeps the rest of a v2 object
# in these annotations of its v1 form (metrics in v1's MetricSpec shape, the
# behavior and conditions as in v2), so a v1 read-modify-write keeps them.

_ANNOTATION = "autoscaling.alpha.kubernetes.io/"
METRICS = _ANNOTATION + "metrics"
CURRENT_METRICS = _ANNOTATION + "current-metrics"
CONDITIONS = _ANNOTATION + "conditions"
BEHAVIOR = _ANNOTATION + "behavior"
# (annotation, section, v2 field)
_V2_ONLY = ((METRICS, "spec", "metrics"), (BEHAVIOR, "spec", "behavior"),
            (CURRENT_METRICS, "status", "currentMetrics"), (CONDITIONS, "status", "conditions"))
# per section: its v2 list of metrics, v1's CPU field, and the metrics' part
_SECTIONS = {"spec": ("metrics", "targetCPUUtilizationPercentage", "target"),
             "status": ("currentMetrics", "currentCPUUtilizationPercentage", "current")}
# a Resource metric's v2 target/current fields and their v1 names, per part
_V1_NAMES = {"target": {"averageUtilization": "targetAverageUtilization",
                        "averageValue": "targetAverageValue"},
             "current": {"averageUtilization": "currentAverageUtilization",
                         "averageValue": "currentAverageValue"}}


def _resource(m: Any) -> Obj | None:
    """A Resource metric's ``resource``, or None for any other metric."""
    if isinstance(m, dict) and m.get("type") == "Resource" and isinstance(m.get("resource"), dict):
        return m["resource"]
    return None


def _cpu_utilization(m: Any, part: str) -> int | None:
    """The CPU utilisation a v2 metric targets (or reports), else None."""
    r = _resource(m)
    if r is None or r.get("name") != "cpu" or not isinstance(r.get(part), dict):
        return None
    if part == "target" and r[part].get("type") != "Utilization":
        return None
    value = r[part].get("averageUtilization")
    return value if isinstance(value, int) else None


def _metric_to_v1(m: Any, part: str) -> Any:
    r = _resource(m)
    if r is None or not isinstance(r.get(part), dict):
        return m  # no other metric type is accepted here; kept as it is
    names = _V1_NAMES[part]
    return {"type": "Resource", "resource": {"name": r.get("name"), **{
        names[k]: v for k, v in r[part].items() if k in names}}}


def _metric_to_v2(m: Any, part: str) -> Any:
    r = _resource(m)
    if r is None or part in r:
        return m
    values = {k: r[v1] for k, v1 in _V1_NAMES[part].items() if v1 in r}
    if part == "target":
        values = {"type": "Utilization" if "averageUtilization" in values else "AverageValue",
                  **values}
    return {"type": "Resource", "resource": {"name": r.get("name"), part: values}}


def v2_to_v1(obj: Obj) -> Obj:
    """A stored (v2) HorizontalPodAutoscaler as autoscaling/v1 shows it."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    moved: dict[str, Any] = {}
    for section, (list_field, v1_field, part) in _SECTIONS.items():
        fields = out.get(section)
        if not isinstance(fields, dict):
            continue
        metrics = fields.pop(list_field, None)
        if isinstance(metrics, list):
            cpu = next((m for m in metrics if _cpu_utilization(m, part) is not None), None)
            if cpu is not None:
                fields[v1_field] = _cpu_utilization(cpu, part)
            metrics = [_metric_to_v1(m, part) for m in metrics if m is not cpu]
        for key, s, field in _V2_ONLY:
            if s != section:
                continue
            value = metrics if field == list_field else fields.pop(field, None)
            if value:
                moved[key] = json.dumps(value, separators=(",", ":"))
    if moved:
        meta = out.setdefault("metadata", {})
        meta["annotations"] = {**(meta.get("annotations") or {}), **moved}
    return out


def v1_to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 HorizontalPodAutoscaler (whole, or the part a
    server-side apply sends) in the stored version, v2."""
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    moved = _take_annotations(out)
    for section, (list_field, v1_field, part) in _SECTIONS.items():
        wanted = {field: value for (s, field), value in moved.items() if s == section}
        if section not in out and wanted:
            out[section] = {}
        fields = out.get(section)
        if not isinstance(fields, dict):
            continue  # validation's to report
        metrics: list[Any] = []
        cpu = fields.pop(v1_field, None)
        if cpu is not None:
            metrics.append({"type": "Resource", "resource": {"name": "cpu", part: {
                **({"type": "Utilization"} if part == "target" else {}),
                "averageUtilization": cpu}}})
        for field, value in wanted.items():
            if field != list_field:
                fields[field] = value
            elif isinstance(value, list):
                metrics.extend(_metric_to_v2(m, part) for m in value)
            else:
                raise errors.BadRequest(f"metadata.annotations[{_ANNOTATION}"
                                        f"{'metrics' if section == 'spec' else 'current-metrics'}]"
                                        f": must be a JSON list")
        if metrics:
            fields[list_field] = metrics
    return out


def _take_annotations(obj: Obj) -> dict[tuple[str, str], Any]:
    """Remove the annotations that carry v2's other fields: (section, field) → value."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("annotations"), dict):
        return {}
    annotations = meta["annotations"]
    out = {}
    for key, section, field in _V2_ONLY:
        if key in annotations:
            try:
                out[section, field] = json.loads(annotations.pop(key))
            except (TypeError, ValueError):
                raise errors.BadRequest(f"metadata.annotations[{key}]: must be JSON") from None
    if out and not annotations:
        del meta["annotations"]
    return out


KIND = Kind("HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling", "v2", True,
            ("hpa",), ("status",), strategy=HorizontalPodAutoscalerStrategy(),
            conversions=(Conversion("v1", to_stored=v1_to_v2, from_stored=v2_to_v1),))
