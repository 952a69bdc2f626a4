"""Namespaces: deleting one marks it Terminating; the namespace controller
empties it and removes it once its ``spec.finalizers`` are done."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from coxapi import defaults, errors, patchmeta
from coxapi.meta import is_terminating
from coxapi.timefmt import rfc3339
from coxapi.validation.common import dns1123_label

from .columns import AGE, Column
from .kind import Kind
from .strategy import DeleteOptions, DeletePlan, Strategy

Obj = dict[str, Any]

# Kubernetes refuses to delete these.
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")


class NamespaceStrategy(Strategy):
    patch_fields = patchmeta.fields_of(status=patchmeta.CONDITIONS_STATUS)
    name_check = staticmethod(dns1123_label)
    field_selectors = ("status.phase",)
    columns = (Column("STATUS", ".status.phase", default="Active"), AGE)

    def defaults(self, obj: Obj) -> None:
        defaults.namespace(obj)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}

    def plan_delete(self, obj: Obj, options: DeleteOptions, now: datetime) -> DeletePlan:
        """Mark it as the namespace controller expects (deletionTimestamp and
        phase Terminating); the system namespaces cannot be deleted."""
        name = obj["metadata"]["name"]
        if name in PROTECTED_NAMESPACES:
            raise errors.Forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                {"name": name, "kind": "namespaces"})
        if is_terminating(obj):
            return DeletePlan(False)
        new = copy.deepcopy(obj)
        new["metadata"]["deletionTimestamp"] = rfc3339(now)
        new.setdefault("status", {})["phase"] = "Terminating"
        return DeletePlan(False, new)

    def remove_when_finalized(self, obj: Obj) -> bool:
        return False  # the namespace controller removes it once it is empty


KIND = Kind("Namespace", "namespaces", "", "v1", False, ("ns",), ("status",),
            strategy=NamespaceStrategy())
