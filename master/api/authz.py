"""Authorization: what a node's own credentials may change.

Like Kubernetes' Node authorizer and NodeRestriction admission, a user in
group ``system:nodes`` named ``system:node:<name>`` may read everything but
write only what belongs to its node: its Node (and status), its Lease in
``kube-node-lease``, the status of pods bound to it and their final deletion,
and Events. Every other authenticated user (the admin) may do everything.

``decide`` is pure; the caller passes what it needs to know about the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coxapi import errors

from ..auth import NODES_GROUP, User
from .paths import Target

NODE_PREFIX = "system:node:"
# What ``pod_node`` returns for a pod that does not exist: the request goes on
# and gets its 404 from the handler.
ABSENT = "\0absent"
NODE_LEASE_NAMESPACE = "kube-node-lease"
_READ = "GET"


@dataclass(frozen=True)
class Request:
    method: str
    target: Target
    body_name: str | None = None  # metadata.name of a POST body


def node_name(user: User) -> str | None:
    if NODES_GROUP in user.groups and user.name.startswith(NODE_PREFIX):
        return user.name[len(NODE_PREFIX):]
    return None


def decide(user: User, req: Request, pod_node: Callable[[], str | None]) -> str | None:
    """None when allowed, else the reason it is forbidden. ``pod_node`` returns
    the node the target pod is bound to, or ``ABSENT`` (only called for pod writes)."""
    node = node_name(user)
    if node is None and NODES_GROUP not in user.groups:
        return None
    if req.method == _READ:
        return None
    if node is None:
        return "node credentials must be for a user named system:node:<name>"
    t = req.target
    kind = t.kind.kind
    name = t.name or req.body_name
    if kind == "Event" and req.method != "DELETE":
        return None
    if kind == "Node" and (req.method in ("PUT", "PATCH")
                           or req.method == "POST" and t.name is None):
        return None if name == node else f"node {node} may only change its own Node"
    if kind == "Lease" and req.method in ("POST", "PUT", "PATCH"):
        if t.namespace == NODE_LEASE_NAMESPACE and name == node:
            return None
        return f"node {node} may only change its own Lease in {NODE_LEASE_NAMESPACE}"
    if kind == "Pod" and t.name is not None and (
            t.subresource == "status" and req.method in ("PUT", "PATCH")
            or t.subresource is None and req.method == "DELETE"):
        bound = pod_node()
        return None if bound in (node, ABSENT) else f"node {node} may only change pods bound to it"
    return f"node {node} may not {req.method} {t.kind.plural}" + (
        f"/{t.subresource}" if t.subresource else "")


def check(user: User | None, req: Request, pod_node: Callable[[], str | None]) -> None:
    if user is None:
        return
    reason = decide(user, req, pod_node)
    if reason is not None:
        t = req.target
        raise errors.Forbidden(f'{t.kind.plural} "{t.name or req.body_name or ""}" is forbidden: '
                               f'User "{user.name}" cannot {req.method} this resource: {reason}',
                               {"name": t.name or "", "kind": t.kind.plural})


def body_name(body: Any) -> str | None:
    meta = body.get("metadata") if isinstance(body, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None
