"""ClusterRoles: RBAC rules for the whole cluster, or bound in one namespace."""

from __future__ import annotations

from coxapi.validation import rbac

from .kind import Kind
from .role import RoleStrategy


class ClusterRoleStrategy(RoleStrategy):
    cluster = True


KIND = Kind("ClusterRole", "clusterroles", rbac.RBAC_GROUP, "v1", False,
            strategy=ClusterRoleStrategy())
