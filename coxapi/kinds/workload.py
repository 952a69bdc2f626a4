"""What ReplicaSets and Deployments share: a pod template, an immutable
selector, and a status the controllers write."""

from __future__ import annotations

from typing import Any

from coxapi.validation import updates, workloads
from coxapi.validation.common import Errors

from .strategy import Strategy

Obj = dict[str, Any]


class WorkloadStrategy(Strategy):
    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        tmpl = (obj.get("spec") or {}).get("template") or {}
        return (tmpl.get("metadata") or {}, tmpl.get("spec") or {}, False) \
            if isinstance(tmpl, dict) else None

    def validate(self, errs: Errors, obj: Obj) -> None:
        workloads.validate_workload(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.workload_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
