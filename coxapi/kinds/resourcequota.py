"""ResourceQuotas: per-namespace limits on object counts and compute requests
and limits (``count/pods``, ``requests.cpu``, …). The API refuses a create
past a quota (master.admission.quota); the quota controller keeps
``status.used``."""

from __future__ import annotations

from typing import Any

from coxapi.validation import quota
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]


def _usage_text(obj: Obj, limits: bool) -> str:
    """kubectl's REQUEST / LIMIT cells: ``pods: 1/10, requests.cpu: 500m/1``."""
    hard = (obj.get("spec") or {}).get("hard") or {}
    used = (obj.get("status") or {}).get("used") or {}
    return ", ".join(f"{r}: {used.get(r, '0')}/{hard[r]}" for r in sorted(hard)
                     if r.startswith("limits.") == limits)


class ResourceQuotaStrategy(Strategy):
    columns = (
        AGE,
        Column("REQUEST", lambda o, now: _usage_text(o, limits=False)),
        Column("LIMIT", lambda o, now: _usage_text(o, limits=True)),
    )

    def validate(self, errs: Errors, obj: Obj) -> None:
        quota.validate_resource_quota(errs, obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}  # the quota controller counts what is there


KIND = Kind("ResourceQuota", "resourcequotas", "", "v1", True, ("quota",), ("status",),
            strategy=ResourceQuotaStrategy())
