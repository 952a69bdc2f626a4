"""Roles: RBAC rules within one namespace (rbac.authorization.k8s.io/v1)."""

from __future__ import annotations

from typing import Any

from coxapi.validation import rbac
from coxapi.validation.common import Errors

from .columns import Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]
CREATED_AT = Column("CREATED AT", ".metadata.creationTimestamp")


class RoleStrategy(Strategy):
    cluster = False
    columns = (CREATED_AT,)
    name_check = staticmethod(rbac.path_segment_name)

    def validate(self, errs: Errors, obj: Obj) -> None:
        rbac.validate_role(errs, obj, self.cluster)

    def write_requires(self, obj: Obj) -> tuple[tuple[str, str, str, str], ...]:
        plural = "clusterroles" if self.cluster else "roles"
        return (("escalate", rbac.RBAC_GROUP, plural, (obj.get("metadata") or {}).get("name", "")),)


KIND = Kind("Role", "roles", rbac.RBAC_GROUP, "v1", True, strategy=RoleStrategy())
