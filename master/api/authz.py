"""Authorization of resource requests.

A user in ``system:masters`` may do everything. A node (user
``system:node:<name>`` in ``system:nodes``) gets what Kubernetes' Node
authorizer and NodeRestriction admission give a kubelet: it reads what its
pods need — a Secret or ConfigMap only by name and only if a pod bound to it
uses it, no pod logs — and writes only what belongs to it: its Node (and
status, without role labels), its Lease in ``kube-node-lease``, the status of
pods bound to it and their final deletion, and Events. What a node may do with
each kind is that kind's ``Strategy.node_read``/``node_write``/``node_admit``
(``coxapi.kinds``). Every other authenticated user is decided by ``others``
(RBAC when it is configured; allowed otherwise).

``decide`` is pure; the caller passes lazily computed facts about the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coxapi import errors
from coxapi.kinds.strategy import NodeRead, NodeWrite

from ..auth import MASTERS_GROUP, NODES_GROUP, User
from .paths import Target

NODE_PREFIX = "system:node:"
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


@dataclass(frozen=True)
class Request:
    method: str
    target: Target
    body_name: str | None = None  # metadata.name of a POST body
    watch: bool = False

    @property
    def verb(self) -> str:
        """Kubernetes' verb: get, list, watch, create, update, patch, delete, deletecollection."""
        collection = self.target.name is None
        if self.method == "GET":
            return "watch" if self.watch else ("list" if collection else "get")
        if self.method == "DELETE":
            return "deletecollection" if collection else "delete"
        return _WRITE_VERBS.get(self.method, self.method.lower())


@dataclass(frozen=True)
class Facts:
    """What a rule may need to know about the target, computed only when asked."""

    bound_node: Callable[[], str | None]  # the node the stored object is bound to, or ABSENT
    referenced_by: Callable[[str], bool]  # whether a pod bound to that node uses the object


Others = Callable[[User, Request], str | None]


def allow_all(user: User, req: Request) -> str | None:
    return None


def node_name(user: User) -> str | None:
    if NODES_GROUP in user.groups and user.name.startswith(NODE_PREFIX):
        return user.name[len(NODE_PREFIX):]
    return None


def decide(user: User, req: Request, facts: Facts, others: Others = allow_all) -> str | None:
    """None when allowed, else the reason it is forbidden."""
    if MASTERS_GROUP in user.groups:
        return None
    node = node_name(user)
    if node is None and NODES_GROUP not in user.groups:
        return others(user, req)
    if node is None:
        return "node credentials must be for a user named system:node:<name>"
    t = req.target
    if req.method == "GET":
        return t.kind.strategy.node_read(NodeRead(
            node=node, verb=req.verb, namespace=t.namespace, name=t.name,
            subresource=t.subresource, resource=t.kind.plural,
            referenced=lambda: facts.referenced_by(node)))
    return t.kind.strategy.node_write(NodeWrite(
        node=node, method=req.method, namespace=t.namespace, name=t.name or req.body_name,
        collection=t.name is None, subresource=t.subresource, resource=t.kind.plural,
        bound_node=facts.bound_node, referenced=lambda: facts.referenced_by(node)))


def check(user: User | None, req: Request, facts: Facts, others: Others = allow_all) -> None:
    if user is None:
        return
    reason = decide(user, req, facts, others)
    if reason is not None:
        t = req.target
        what = t.kind.plural + (f"/{t.subresource}" if t.subresource else "")
        raise errors.Forbidden(f'{what} "{t.name or req.body_name or ""}" is forbidden: '
                               f'User "{user.name}" cannot {req.verb} resource "{what}"'
                               + (f' in the namespace "{t.namespace}"' if t.namespace else "")
                               + f": {reason}",
                               {"name": t.name or "", "kind": t.kind.plural})


def admit(user: User | None, kind: Any, old: dict | None, new: dict) -> None:
    """NodeRestriction on the object a node is about to store."""
    node = node_name(user) if user is not None else None
    if node is None:
        return
    reason = kind.strategy.node_admit(node, old, new)
    if reason is not None:
        raise errors.Forbidden(f'{kind.plural} "{(new.get("metadata") or {}).get("name", "")}" '
                               f"is forbidden: {reason}",
                               {"name": (new.get("metadata") or {}).get("name", ""),
                                "kind": kind.plural})


def body_name(body: Any) -> str | None:
    meta = body.get("metadata") if isinstance(body, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else None
