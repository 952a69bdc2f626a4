"""Deployments: roll ReplicaSets from one pod template to the next."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coxapi import defaults, patchmeta
from coxapi.validation import workloads
from coxapi.validation.common import Errors

from .columns import AGE, WORKLOAD_WIDE, Column
from .kind import Kind
from .workload import WorkloadStrategy

Obj = dict[str, Any]


def _ready(o: Obj, now: datetime) -> str:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return f"{st.get('readyReplicas', 0) or 0}/{spec.get('replicas', 1)}"


class DeploymentStrategy(WorkloadStrategy):
    patch_fields = patchmeta.workload(strategy=patchmeta.Field("retainKeys"))
    columns = (
        Column("READY", _ready),
        Column("UP-TO-DATE",
               lambda o, now: str((o.get("status") or {}).get("updatedReplicas", 0) or 0)),
        Column("AVAILABLE",
               lambda o, now: str((o.get("status") or {}).get("availableReplicas", 0) or 0)),
        AGE,
        *WORKLOAD_WIDE,
    )

    def defaults(self, obj: Obj) -> None:
        defaults.deployment(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        workloads.validate_deployment(errs, obj)


KIND = Kind("Deployment", "deployments", "apps", "v1", True, ("deploy",), ("status", "scale"),
            strategy=DeploymentStrategy(), categories=("all",))
