"""The facts the authorizer asks about a request's target, read from this
master's replica (``linearizable=False``: a rule about a pod's binding, like
Kubernetes' node authorizer graph, follows the store closely enough)."""

from __future__ import annotations

from coxapi import errors, kinds
from coxapi.kinds.strategy import ABSENT

from ..objects import ObjectStore
from .authz import Facts
from .paths import Target

_PODS = kinds.lookup("pods")


def facts(objects: ObjectStore, t: Target) -> Facts:
    def bound_node() -> str | None:
        try:
            obj = objects.get(t.kind, t.namespace, t.object_name, linearizable=False)
        except errors.NotFound:
            return ABSENT
        return t.kind.strategy.bound_node(obj)

    def referenced_by(node: str) -> bool:
        if t.name is None or t.namespace is None:
            return False
        want = (t.kind.kind, t.name)
        pods = objects.list(_PODS, t.namespace, linearizable=False,
                            predicate=lambda p: _PODS.strategy.bound_node(p) == node).items
        return any(want in set(_PODS.strategy.references(p)) for p in pods)

    return Facts(bound_node, referenced_by)
