"""Validation of ResourceQuotas."""

from __future__ import annotations

from typing import Any

from .. import quantity, quotas
from .common import Errors

Obj = dict[str, Any]


def validate_resource_quota(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if spec is None:
        return
    if not isinstance(spec, dict):
        errs.add("spec", "must be an object")
        return
    hard = spec.get("hard")
    if hard is None:
        return
    if not isinstance(hard, dict):
        errs.add("spec.hard", "must be a map of resource names to quantities")
        return
    for resource, value in hard.items():
        field = f"spec.hard[{resource}]"
        if not quotas.supported(str(resource)):
            errs.add(field, f"Invalid value: {resource!r}: must be a standard resource for "
                            "quota: pods, count/<resource>[.<group>] of a namespaced kind, "
                            f"{', '.join(quotas.COMPUTE)}")
            continue
        try:
            quotas.parse_amount(resource, value)
        except quantity.QuantityError as e:
            errs.add(field, f"Invalid value: {value!r}: {e}")
    if spec.get("scopes") or spec.get("scopeSelector"):
        errs.add("spec.scopes", "quota scopes are not supported")
