"""The RBAC authorizer: a request is allowed when a ClusterRoleBinding, or a
RoleBinding in the request's namespace, grants a role with a rule for it.
Roles and bindings are read from this master's replica (in memory, no Raft
round trip), so a change made through any master applies here within the
replication delay, as with Kubernetes' informer-fed authorizer. The rules a
user holds in a namespace are kept until RBAC changes (``rbaccache.py``)."""

from __future__ import annotations

from coxapi import errors, kinds, rbac
from coxapi.rbac import Attributes

from ..auth import User
from ..objects import ObjectStore
from .authz import Request
from .rbaccache import ChangeCounter, Rules, RulesCache

_ROLE, _CLUSTER_ROLE = kinds.lookup("roles"), kinds.lookup("clusterroles")
_BINDING, _CLUSTER_BINDING = kinds.lookup("rolebindings"), kinds.lookup("clusterrolebindings")
Obj = dict


def attributes(req: Request) -> Attributes:
    t = req.target
    return Attributes(verb=req.verb, resource=t.kind.plural, api_group=t.kind.group,
                      subresource=t.subresource or "", name=t.name or "",
                      namespace=t.namespace or "")


class RbacAuthorizer:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._cache = RulesCache(ChangeCounter(objects.store, [
            k.storage_prefix() for k in (_ROLE, _CLUSTER_ROLE, _BINDING, _CLUSTER_BINDING)]))

    def _get(self, kind: kinds.Kind, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.objects.get(kind, namespace, name, linearizable=False)
        except errors.NotFound:
            return None

    def _role_of(self, binding: Obj) -> Obj | None:
        ref = binding.get("roleRef") or {}
        kind = kinds.named(str(ref.get("kind")))
        if kind is None or kind not in (_ROLE, _CLUSTER_ROLE):
            return None
        ns = binding["metadata"].get("namespace") if kind.namespaced else None
        return self._get(kind, ns, str(ref.get("name")))

    def _rules(self, user: User, namespace: str) -> Rules:
        """Every rule of every role bound to ``user`` cluster-wide or in ``namespace``."""
        bindings = self.objects.list(_CLUSTER_BINDING, linearizable=False).items
        if namespace:
            bindings += self.objects.list(_BINDING, namespace, linearizable=False).items
        rules: list = []
        for b in bindings:
            if rbac.bound(b, user.name, user.groups):
                role = self._role_of(b)
                rules += (role or {}).get("rules") or []
        return tuple(rules)

    def allowed(self, user: User, a: Attributes) -> bool:
        key = (user.name, tuple(user.groups), a.namespace)
        rules = self._cache.rules(key, lambda: self._rules(user, a.namespace))
        return any(rbac.rule_allows(r, a) for r in rules)

    def decide(self, user: User, a: Attributes) -> str | None:
        """None when allowed, else Kubernetes' reason."""
        return None if self.allowed(user, a) else "RBAC: no role grants it"

    def __call__(self, user: User, req: Request) -> str | None:
        """``authz.Others``: RBAC for users that are neither masters nor nodes."""
        return self.decide(user, attributes(req))

    def extra(self, user: User, namespace: str | None,
              needs: tuple[tuple[str, str, str, str], ...]) -> str | None:
        """The escalation check of a role or binding write (``Strategy.write_requires``)."""
        for verb, group, resource, name in needs:
            a = Attributes(verb=verb, resource=resource, api_group=group, name=name,
                           namespace=namespace or "")
            if not self.allowed(user, a):
                return (f'user "{user.name}" {rbac.describe(a)} (needed to write this without '
                        f"escalating privileges)")
        return None
