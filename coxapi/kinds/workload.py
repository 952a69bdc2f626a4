"""What ReplicaSets, Deployments, StatefulSets and DaemonSets share: a pod template, an immutable
selector, and a status the controllers write."""

from __future__ import annotations

from typing import Any

from coxapi import patchmeta
from coxapi.validation import updates, workloads
from coxapi.validation.common import Errors

from .strategy import Strategy

Obj = dict[str, Any]


def template_parts(obj: Obj, *path: str) -> tuple[Obj, Obj, bool] | None:
    """``(metadata, spec, False)`` of the pod template at ``path`` in ``obj``, for
    Pod Security (``Strategy.pod_template``: a template is warned about, not
    refused); None when there is none."""
    tmpl: Any = obj
    for key in path:
        tmpl = tmpl.get(key) if isinstance(tmpl, dict) else None
    if not isinstance(tmpl, dict):
        return None
    meta, spec = tmpl.get("metadata") or {}, tmpl.get("spec") or {}
    return (meta, spec, False) if isinstance(meta, dict) and isinstance(spec, dict) else None


class WorkloadStrategy(Strategy):
    patch_fields = patchmeta.workload()

    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        return template_parts(obj, "spec", "template")

    def validate(self, errs: Errors, obj: Obj) -> None:
        workloads.validate_workload(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.workload_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}
