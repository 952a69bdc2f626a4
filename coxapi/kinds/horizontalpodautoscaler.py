"""HorizontalPodAutoscalers (autoscaling/v2): scale a workload on the CPU or
memory use its pods report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coxapi.validation import autoscaling
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
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


KIND = Kind("HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling", "v2", True,
            ("hpa",), ("status",), strategy=HorizontalPodAutoscalerStrategy())
