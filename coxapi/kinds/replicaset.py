"""ReplicaSets: keep a number of pods from a template running."""

from __future__ import annotations

from typing import Any

from coxapi import defaults

from .columns import AGE, WORKLOAD_WIDE, Column
from .kind import Kind
from .workload import WorkloadStrategy

Obj = dict[str, Any]


class ReplicaSetStrategy(WorkloadStrategy):
    field_selectors = ("status.replicas",)
    columns = (
        Column("DESIRED", lambda o, now: str((o.get("spec") or {}).get("replicas", 1))),
        Column("CURRENT", lambda o, now: str((o.get("status") or {}).get("replicas", 0) or 0)),
        Column("READY", lambda o, now: str((o.get("status") or {}).get("readyReplicas", 0) or 0)),
        AGE,
        *WORKLOAD_WIDE,
    )

    def defaults(self, obj: Obj) -> None:
        defaults.replica_set(obj)


KIND = Kind("ReplicaSet", "replicasets", "apps", "v1", True, ("rs",), ("status", "scale"),
            strategy=ReplicaSetStrategy(), categories=("all",))
