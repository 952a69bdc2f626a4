"""Nodes: each node agent registers and updates its own Node."""

from __future__ import annotations

from typing import Any

from coxapi import patchmeta
from coxapi.meta import get_condition
from coxapi.validation import nodes, updates
from coxapi.validation.common import Errors

from .columns import AGE, NONE, Column
from .kind import Kind
from .strategy import NodeWrite, Strategy

Obj = dict[str, Any]


def node_status(node: Obj) -> str:
    ready = get_condition(node, "Ready")
    if ready is None:
        s = "Unknown"
    else:
        s = {"True": "Ready", "False": "NotReady"}.get(ready.get("status", ""), "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        s += ",SchedulingDisabled"
    return s


def node_roles(node: Obj) -> str:
    roles = []
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.append(key.split("/", 1)[1] or value)
        elif key == "kubernetes.io/role":
            roles.append(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def node_address(node: Obj, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address") or NONE
    return NONE


# Label prefixes a node may not set on its own Node (Kubernetes' NodeRestriction).
RESTRICTED_LABEL_DOMAINS = ("node-restriction.kubernetes.io", "node-role.kubernetes.io")


class NodeStrategy(Strategy):
    patch_fields = patchmeta.fields_of(
        spec=patchmeta.obj(podCIDRs=patchmeta.merge_list()),
        status=patchmeta.obj(conditions=patchmeta.merge_list("type"),
                             addresses=patchmeta.merge_list("type")))
    field_selectors = ("spec.unschedulable",)

    def is_heartbeat(self, node: str, method: str, namespace: str | None, name: str | None,
                     subresource: str | None) -> bool:
        # its own Node and Node status (or registering itself)
        return (name == node or (name is None and method == "POST")) \
            and subresource in (None, "status")
    columns = (
        Column("STATUS", lambda o, now: node_status(o)),
        Column("ROLES", lambda o, now: node_roles(o)),
        AGE,
        Column("VERSION", ".status.nodeInfo.kubeletVersion"),
        Column("INTERNAL-IP", lambda o, now: node_address(o, "InternalIP"), 1),
        Column("EXTERNAL-IP", lambda o, now: node_address(o, "ExternalIP"), 1),
        Column("OS-IMAGE", ".status.nodeInfo.osImage", 1, "<unknown>"),
        Column("KERNEL-VERSION", ".status.nodeInfo.kernelVersion", 1, "<unknown>"),
        Column("CONTAINER-RUNTIME", ".status.nodeInfo.containerRuntimeVersion", 1, "<unknown>"),
    )

    def validate(self, errs: Errors, obj: Obj) -> None:
        nodes.validate_node(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.node_update(errs, old, new)

    def node_write(self, w: NodeWrite) -> str | None:
        # A node registers (POST) and updates its own Node and its status.
        if w.method in ("PUT", "PATCH") or w.method == "POST" and w.collection:
            return None if w.name == w.node else f"node {w.node} may only change its own Node"
        return w.denied()


    def node_admit(self, node: str, old: Obj | None, new: Obj) -> str | None:
        # NodeRestriction: a node may not give itself a role, nor the labels
        # admins use to pick nodes no kubelet can claim.
        before = ((old or {}).get("metadata") or {}).get("labels") or {}
        after = (new.get("metadata") or {}).get("labels") or {}
        for key in sorted(set(before) | set(after)):
            if key.split("/")[0] in RESTRICTED_LABEL_DOMAINS and before.get(key) != after.get(key):
                return f"node {node} may not set label {key!r} on itself"
        return None

KIND = Kind("Node", "nodes", "", "v1", False, ("no",), ("status",), strategy=NodeStrategy())
