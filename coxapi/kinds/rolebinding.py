"""RoleBindings: grant a Role or ClusterRole to subjects within one namespace."""

from __future__ import annotations

from typing import Any

from coxapi.validation import rbac
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]


def _role(o: Obj, now: Any) -> str:
    ref = o.get("roleRef") or {}
    return f"{ref.get('kind', '')}/{ref.get('name', '')}"


class RoleBindingStrategy(Strategy):
    cluster = False
    columns = (Column("ROLE", _role), AGE)
    name_check = staticmethod(rbac.path_segment_name)

    def validate(self, errs: Errors, obj: Obj) -> None:
        rbac.validate_binding(errs, obj, self.cluster)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        rbac.binding_update(errs, old, new)

    def write_requires(self, obj: Obj) -> tuple[tuple[str, str, str, str], ...]:
        ref: Obj = obj["roleRef"] if isinstance(obj.get("roleRef"), dict) else {}
        plural = "roles" if ref.get("kind") == "Role" else "clusterroles"
        return (("bind", rbac.RBAC_GROUP, plural, str(ref.get("name", ""))),)


KIND = Kind("RoleBinding", "rolebindings", rbac.RBAC_GROUP, "v1", True,
            strategy=RoleBindingStrategy())
