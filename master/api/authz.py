"""Authorization: what a node's own credentials may change.

Like Kubernetes' Node authorizer and NodeRestriction admission, a user in
group ``system:nodes`` named ``system:node:<name>`` may read everything but
write only what belongs to its node: its Node (and status), its Lease in
``kube-node-lease``, the status of pods bound to it and their final deletion,
and Events. Every other authenticated user (the admin) may do everything.

What a node may write of each kind is that kind's ``Strategy.node_write``
(``coxapi.kinds``); ``decide`` is pure and the caller passes what it needs to
know about the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coxapi import errors
from coxapi.kinds.strategy import NodeWrite

from ..auth import NODES_GROUP, User
from .paths import Target

NODE_PREFIX = "system:node:"
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


def decide(user: User, req: Request, bound_node: Callable[[], str | None]) -> str | None:
    """None when allowed, else the reason it is forbidden. ``bound_node`` returns
    the node the target object is bound to, or ``ABSENT`` (called only when the
    kind's rule needs it)."""
    node = node_name(user)
    if node is None and NODES_GROUP not in user.groups:
        return None
    if req.method == _READ:
        return None
    if node is None:
        return "node credentials must be for a user named system:node:<name>"
    t = req.target
    return t.kind.strategy.node_write(NodeWrite(
        node=node, method=req.method, namespace=t.namespace, name=t.name or req.body_name,
        collection=t.name is None, subresource=t.subresource, resource=t.kind.plural,
        bound_node=bound_node))


def check(user: User | None, req: Request, bound_node: Callable[[], str | None]) -> None:
    if user is None:
        return
    reason = decide(user, req, bound_node)
    if reason is not None:
        t = req.target
        raise errors.Forbidden(f'{t.kind.plural} "{t.name or req.body_name or ""}" is forbidden: '
                               f'User "{user.name}" cannot {req.method} this resource: {reason}',
                               {"name": t.name or "", "kind": t.kind.plural})


def body_name(body: Any) -> str | None:
    meta = body.get("metadata") if isinstance(body, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None
