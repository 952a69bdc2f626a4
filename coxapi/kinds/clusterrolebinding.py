"""ClusterRoleBindings: grant a ClusterRole to subjects across the cluster."""

from __future__ import annotations

from coxapi.validation import rbac

from .kind import Kind
from .rolebinding import RoleBindingStrategy


class ClusterRoleBindingStrategy(RoleBindingStrategy):
    cluster = True


KIND = Kind("ClusterRoleBinding", "clusterrolebindings", rbac.RBAC_GROUP, "v1", False,
            strategy=ClusterRoleBindingStrategy())
