"""Leases: node heartbeats in ``kube-node-lease`` (and leader election)."""

from __future__ import annotations

from typing import Any

from coxapi import defaults
from coxapi.validation import nodes
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import NodeWrite, Strategy

Obj = dict[str, Any]
NODE_LEASE_NAMESPACE = "kube-node-lease"


class LeaseStrategy(Strategy):
    create_on_update = True
    columns = (Column("HOLDER", ".spec.holderIdentity"), AGE)

    def defaults(self, obj: Obj) -> None:
        defaults.lease(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        nodes.validate_lease(errs, obj)

    def is_heartbeat(self, node: str, method: str, namespace: str | None, name: str | None,
                     subresource: str | None) -> bool:
        return namespace == NODE_LEASE_NAMESPACE and (
            name == node or (name is None and method == "POST"))

    def node_write(self, w: NodeWrite) -> str | None:
        # A node renews its own heartbeat Lease.
        if w.method not in ("POST", "PUT", "PATCH"):
            return w.denied()
        if w.namespace == NODE_LEASE_NAMESPACE and w.name == w.node:
            return None
        return f"node {w.node} may only change its own Lease in {NODE_LEASE_NAMESPACE}"


KIND = Kind("Lease", "leases", "coordination.k8s.io", "v1", True, strategy=LeaseStrategy())
