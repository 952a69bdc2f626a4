"""DaemonSets (apps/v1): one pod on every eligible node."""

from __future__ import annotations

from typing import Any

from coxapi import defaults
from coxapi.validation import workloads
from coxapi.validation.common import Errors

from .columns import AGE, NONE, WORKLOAD_WIDE, Column, map_selector_text
from .kind import Kind
from .workload import WorkloadStrategy

Obj = dict[str, Any]


def _count(field: str) -> Column:
    name = {"desiredNumberScheduled": "DESIRED", "currentNumberScheduled": "CURRENT",
            "numberReady": "READY", "updatedNumberScheduled": "UP-TO-DATE",
            "numberAvailable": "AVAILABLE"}[field]
    return Column(name, lambda o, now: str((o.get("status") or {}).get(field, 0) or 0))


class DaemonSetStrategy(WorkloadStrategy):
    columns = (
        *(_count(f) for f in ("desiredNumberScheduled", "currentNumberScheduled", "numberReady",
                              "updatedNumberScheduled", "numberAvailable")),
        Column("NODE SELECTOR", lambda o, now: map_selector_text(
            (((o.get("spec") or {}).get("template") or {}).get("spec") or {}).get("nodeSelector"))
            or NONE),
        AGE,
        *WORKLOAD_WIDE,
    )

    def defaults(self, obj: Obj) -> None:
        defaults.daemon_set(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        workloads.validate_daemon_set(errs, obj)


KIND = Kind("DaemonSet", "daemonsets", "apps", "v1", True, ("ds",), ("status",),
            strategy=DaemonSetStrategy())
