"""Printer columns: what ``cox get`` shows per kind (and, later, the server's
Table output). Pure; ``now`` is passed in so output is reproducible."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coxapi.timefmt import parse_time

Obj = dict[str, Any]
NONE = "<none>"


@dataclass(frozen=True)
class Column:
    """``value`` is a function of (object, now) or a dotted JSON path such as
    ``.spec.holderIdentity`` (a missing or empty value prints ``default``).
    Priority 0 columns always show, priority 1 with ``-o wide``. ``type``,
    ``format`` and ``description`` are what the server's Table output
    (coxapi.table) declares for the column, as Kubernetes' printers do."""

    name: str
    value: str | Callable[[Obj, datetime], str]
    priority: int = 0
    default: str = ""
    description: str = ""
    type: str = "string"
    format: str = ""

    def cell(self, obj: Obj, now: datetime) -> str:
        if callable(self.value):
            return self.value(obj, now)
        v: Any = obj
        for part in self.value.lstrip(".").split("."):
            v = v.get(part) if isinstance(v, dict) else None
        return str(v) if v else self.default


def human_duration(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration``: ``5s``, ``3m12s``, ``2d``, ``3y45d``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None, now: datetime) -> str:
    t = parse_time(timestamp)
    if t is None:
        return "<unknown>"
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return human_duration((now - t).total_seconds())


def created_age(obj: Obj, now: datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"), now)


AGE = Column("AGE", created_age, description=(
    "CreationTimestamp is a timestamp representing the server time when this object was "
    "created, shown as the time since then."))


def label_selector_text(sel: Obj | None) -> str:
    if not sel:
        return NONE
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin"}.get(e.get("operator", ""))
        if op:
            parts.append(f"{e.get('key')} {op} ({','.join(e.get('values') or [])})")
        elif e.get("operator") == "Exists":
            parts.append(str(e.get("key")))
        else:
            parts.append(f"!{e.get('key')}")
    return ",".join(parts) or NONE


def map_selector_text(sel: Obj | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (sel or {}).items()) or NONE


def _template_containers(o: Obj) -> list:
    return (((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []


# The ``-o wide`` columns of the pod-template workloads (ReplicaSet, Deployment).
WORKLOAD_WIDE = (
    Column("CONTAINERS", lambda o, now: ",".join(
        c.get("name", "") for c in _template_containers(o)) or NONE, 1),
    Column("IMAGES", lambda o, now: ",".join(
        c.get("image", "") for c in _template_containers(o)) or NONE, 1),
    Column("SELECTOR", lambda o, now: label_selector_text(
        (o.get("spec") or {}).get("selector")), 1),
)
