"""What a pod asks for: its containers' resource requests and limits, summed
as Kubernetes sums them (the scheduler's and the quota's arithmetic)."""

from __future__ import annotations

from typing import Any

from . import quantity

Obj = dict[str, Any]


def _amount(c: Obj, section: str, resource: str) -> int | None:
    res = c.get("resources") or {}
    value = (res.get(section) or {}).get(resource)
    if value is None and section == "requests":  # requests default to limits
        value = (res.get("limits") or {}).get(resource)
    if value is None:
        return None
    return quantity.parse_cpu(value) if resource == "cpu" else quantity.parse_memory(value)


def pod_total(pod: Obj, section: str, resource: str) -> tuple[int, list[str]]:
    """The larger of the containers' sum and the largest init container (they
    run one at a time, before), and the containers that do not set it."""
    spec = pod.get("spec") or {}
    regular = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    init = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    amounts = [(c, _amount(c, section, resource)) for c in regular + init]
    missing = [str(c.get("name")) for c, n in amounts if n is None]
    total = sum(n or 0 for c, n in amounts[:len(regular)])
    return max([total, *(n or 0 for _, n in amounts[len(regular):])]), missing
