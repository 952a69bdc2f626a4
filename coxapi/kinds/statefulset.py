"""StatefulSets: pods with stable names and storage, started, stopped and
updated in ordinal order (master/controllers/statefulset.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coxapi.validation import statefulsets, updates
from coxapi.validation.common import Errors

from .columns import AGE, WORKLOAD_WIDE, Column
from .kind import Kind
from .workload import WorkloadStrategy

Obj = dict[str, Any]


def _ready(o: Obj, now: datetime) -> str:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return f"{st.get('readyReplicas', 0) or 0}/{spec.get('replicas', 1)}"


class StatefulSetStrategy(WorkloadStrategy):
    columns = (Column("READY", _ready), AGE, *WORKLOAD_WIDE)

    def defaults(self, obj: Obj) -> None:
        statefulsets.defaults(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        statefulsets.validate(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.workload_update(errs, old, new)
        statefulsets.validate_update(errs, old, new)


KIND = Kind("StatefulSet", "statefulsets", "apps", "v1", True, ("sts",), ("status", "scale"),
            strategy=StatefulSetStrategy())
