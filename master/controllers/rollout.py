"""Pure rollout arithmetic of the Deployment controller (Kubernetes'
deployment/util): how far to surge, how much may be unavailable, how many
pods the new ReplicaSet may have, and which old ones to scale down.

ReplicaSets are passed as ``RS(name, replicas, available, created)`` so the
math is testable without objects: ``replicas`` is spec.replicas,
``available`` is status.availableReplicas.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class RS:
    name: str
    replicas: int
    available: int = 0
    created: float = 0.0


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An int, or a percentage of ``total`` rounded up (surge) or down (unavailable)."""
    if value is None:
        value = "25%"
    try:
        if isinstance(value, str) and value.endswith("%"):
            pct = float(value[:-1] or 0) * total / 100
            return math.ceil(pct) if round_up else math.floor(pct)
        return int(value)
    except (TypeError, ValueError):  # validation should have refused it
        return scaled_value("25%", total, round_up)


def fenceposts(max_surge: int | str | None, max_unavailable: int | str | None,
               replicas: int) -> tuple[int, int]:
    """``(surge, unavailable)``; both zero would stall a rollout, so
    unavailable becomes 1 (Kubernetes' ResolveFenceposts)."""
    surge = max(0, scaled_value(max_surge, replicas, True))
    unavailable = max(0, scaled_value(max_unavailable, replicas, False))
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_rs_replicas(replicas: int, surge: int, new: RS, all_rs: list[RS]) -> int:
    """How many replicas the new ReplicaSet may have now (NewRSNewReplicas)."""
    current = sum(r.replicas for r in all_rs)
    max_total = replicas + surge
    if current >= max_total:
        return new.replicas
    grow = min(max_total - current, replicas - new.replicas)
    return new.replicas + max(0, grow)


def old_scale_down(replicas: int, unavailable: int, new: RS | None,
                   old: list[RS]) -> dict[str, int]:
    """New spec.replicas for old ReplicaSets this step (reconcileOldReplicaSets):
    first drop their unhealthy replicas, then available ones while at least
    ``replicas - unavailable`` pods stay available. Oldest first."""
    old_total = sum(r.replicas for r in old)
    if old_total == 0:
        return {}
    all_total = old_total + (new.replicas if new else 0)
    min_available = replicas - unavailable
    new_unavailable = (new.replicas - new.available) if new else 0
    budget = all_total - min_available - new_unavailable
    if budget <= 0:
        return {}
    out: dict[str, int] = {}
    ordered = sorted(old, key=lambda r: (r.created, r.name))
    current = {r.name: r.replicas for r in ordered}
    # 1. unhealthy replicas cost no availability
    cleaned = 0
    for r in ordered:
        if cleaned >= budget:
            break
        unhealthy = max(0, current[r.name] - r.available)
        if unhealthy == 0:
            continue
        n = min(unhealthy, budget - cleaned)
        current[r.name] -= n
        out[r.name] = current[r.name]
        cleaned += n
    # 2. then available ones, keeping min_available
    available = sum(min(r.available, current[r.name]) for r in ordered) + \
        (new.available if new else 0)
    to_remove = available - min_available
    for r in ordered:
        if to_remove <= 0:
            break
        n = min(current[r.name], to_remove)
        if n == 0:
            continue
        current[r.name] -= n
        out[r.name] = current[r.name]
        to_remove -= n
    return out


def template_hash(template: Obj, collision_count: int = 0) -> str:
    """A stable short hash of a pod template (any label ``pod-template-hash``
    ignored), encoded like Kubernetes' SafeEncodeString."""
    clean = strip_hash(template)
    data = json.dumps(clean, sort_keys=True, separators=(",", ":"))
    if collision_count:
        data += str(collision_count)
    n = int.from_bytes(hashlib.sha256(data.encode()).digest()[:5], "big")
    out: list[str] = []
    while n and len(out) < 10:
        n, r = divmod(n, len(_ALPHABET))
        out.append(_ALPHABET[r])
    return "".join(out) or _ALPHABET[0]


def strip_hash(template: Obj) -> Obj:
    """The template without the hash label and without null fields: in
    Kubernetes' typed templates a null is the field absent (kubectl's rollout
    undo sends the zero ``metadata.creationTimestamp`` as null)."""
    tmpl = _without_nulls(template or {})
    lbl = (tmpl.get("metadata") or {}).get("labels")
    if lbl is not None:
        lbl.pop(HASH_LABEL, None)
    return tmpl


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def equal_ignoring_hash(a: Obj, b: Obj) -> bool:
    return strip_hash(a) == strip_hash(b)


def revision_of(obj: Obj) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0
