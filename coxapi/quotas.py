"""ResourceQuota arithmetic, as Kubernetes counts: which resources a quota
may limit, how much of each an object uses, and their amounts as ints
(millicores for CPU, bytes for memory, a number of objects for counts).

Pure: the API's admission (master.admission.quota), the quota controller and
validation share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING
from typing import Any

from . import kinds, quantity

Obj = dict[str, Any]

# compute resource -> (the container resources section, the resource)
COMPUTE = {
    "requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
    "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
    "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory"),
}
# names Kubernetes kept from before ``count/<resource>``
_LEGACY_COUNTS = {"pods": "Pod", "services": "Service", "configmaps": "ConfigMap",
                  "secrets": "Secret", "resourcequotas": "ResourceQuota"}


def counted_kind(resource: str) -> kinds.Kind | None:
    """The kind whose objects ``resource`` counts (``pods``, ``count/pods``,
    ``count/deployments.apps``), or None."""
    if resource in _LEGACY_COUNTS:
        return kinds.named(_LEGACY_COUNTS[resource])
    if not resource.startswith("count/"):
        return None
    plural, _, group = resource[len("count/"):].partition(".")
    return next((k for k in kinds.KINDS
                 if k.namespaced and k.plural == plural and k.group == group), None)


def supported(resource: str) -> bool:
    return resource in COMPUTE or counted_kind(resource) is not None


def parse_amount(resource: str, value: Any) -> int:
    """``value`` (a quantity) as an int of the resource's unit; QuantityError if bad."""
    if COMPUTE.get(resource, ("", ""))[1] == "cpu":
        return quantity.parse_cpu(value)
    return int(quantity.parse(value).to_integral_value(rounding=ROUND_CEILING))


def format_amount(resource: str, n: int) -> str:
    """Exact, in Kubernetes' canonical form (``500m``, ``1Gi``, ``3``)."""
    unit = COMPUTE.get(resource, ("", ""))[1]
    if unit == "cpu":
        return quantity.format_cpu(n)
    if unit == "memory" and n:
        for suffix, size in (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30),
                             ("Mi", 2**20), ("Ki", 2**10)):
            if n % size == 0:
                return f"{n // size}{suffix}"
    return str(n)


def counts(kind: kinds.Kind, obj: Obj) -> bool:
    """Whether ``obj`` uses quota: a pod only until it has finished."""
    return kind.strategy.uses_quota(obj)


def unspecified(kind: kinds.Kind, obj: Obj, resources: Iterable[str]) -> list[str]:
    """``requests.cpu for: app`` for each limited compute resource some
    container does not set (Kubernetes refuses such a pod)."""
    out = []
    for resource in sorted(set(resources) & set(COMPUTE)):
        section, name = COMPUTE[resource]
        missing = kind.strategy.compute_usage(obj, section, name)[1]
        if missing:
            out.append(f"{section}.{name} for: {','.join(missing)}")
    return out


def usage(kind: kinds.Kind, obj: Obj, resources: Iterable[str]) -> dict[str, int]:
    """What ``obj`` uses of each of ``resources`` (those it uses none of are left out)."""
    if not counts(kind, obj):
        return {}
    out: dict[str, int] = {}
    for r in resources:
        if r in COMPUTE:
            if n := kind.strategy.compute_usage(obj, *COMPUTE[r])[0]:
                out[r] = n
        elif counted_kind(r) is kind:
            out[r] = 1
    return out


def hard_of(quota: Obj) -> dict[str, int]:
    """``spec.hard`` as amounts (a quota that fails validation never gets stored)."""
    hard = (quota.get("spec") or {}).get("hard") or {}
    return {r: parse_amount(r, v) for r, v in hard.items()}


def used_of(quota: Obj) -> dict[str, int]:
    used = (quota.get("status") or {}).get("used") or {}
    return {r: parse_amount(r, v) for r, v in used.items()}


def formatted(amounts: dict[str, int]) -> dict[str, str]:
    return {r: format_amount(r, n) for r, n in sorted(amounts.items())}
