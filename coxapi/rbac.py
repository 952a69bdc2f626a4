"""Kubernetes' RBAC rule evaluation, pure: whether a PolicyRule allows a
request, whether a binding's subject is a user, and the ServiceAccount user
naming. The master's authorizer (master.api.rbacauthz) feeds it the stored
roles and bindings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts"


@dataclass(frozen=True)
class Attributes:
    """What a request does, as Kubernetes' authorizer attributes. A resource
    request names ``resource``; a non-resource request only ``path``."""

    verb: str
    resource: str = ""
    api_group: str = ""
    subresource: str = ""
    name: str = ""
    namespace: str = ""
    path: str = ""

    @property
    def resource_request(self) -> bool:
        return bool(self.resource)


def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, ...]:
    return (SA_GROUP, f"{SA_GROUP}:{namespace}")


def _has(values: Any, want: str) -> bool:
    return isinstance(values, list) and ("*" in values or want in values)


def _resource_matches(resources: Any, resource: str, subresource: str) -> bool:
    if not isinstance(resources, list):
        return False
    if not subresource:
        return "*" in resources or resource in resources
    return any(r in ("*", f"{resource}/{subresource}", f"{resource}/*", f"*/{subresource}")
               for r in resources)


def _path_matches(urls: Any, path: str) -> bool:
    if not isinstance(urls, list):
        return False
    for u in urls:
        if not isinstance(u, str):
            continue
        if u == "*" or u == path or (u.endswith("*") and path.startswith(u[:-1])):
            return True
    return False


def rule_allows(rule: Any, a: Attributes) -> bool:
    if not isinstance(rule, dict) or not _has(rule.get("verbs"), a.verb):
        return False
    if not a.resource_request:
        return _path_matches(rule.get("nonResourceURLs"), a.path)
    if not _has(rule.get("apiGroups"), a.api_group):
        return False
    if not _resource_matches(rule.get("resources"), a.resource, a.subresource):
        return False
    names = rule.get("resourceNames")
    return not names or (bool(a.name) and isinstance(names, list) and a.name in names)


def subject_matches(subject: Any, user: str, groups: tuple[str, ...], binding_namespace: str
                    ) -> bool:
    if not isinstance(subject, dict):
        return False
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user
    if kind == "Group":
        return name in groups or name == AUTHENTICATED
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or binding_namespace
        return user == service_account_user(str(ns), str(name))
    return False


def bound(binding: Obj, user: str, groups: Iterable[str]) -> bool:
    ns = (binding.get("metadata") or {}).get("namespace") or ""
    gs = tuple(groups)
    return any(subject_matches(s, user, gs, ns) for s in binding.get("subjects") or [])


def role_allows(role: Obj | None, a: Attributes) -> bool:
    return role is not None and any(rule_allows(r, a) for r in role.get("rules") or [])


def describe(a: Attributes) -> str:
    """Kubernetes' wording of what was asked, for a Forbidden message."""
    if not a.resource_request:
        return f'cannot {a.verb} path "{a.path}"'
    what = a.resource + (f"/{a.subresource}" if a.subresource else "")
    group = f' in API group "{a.api_group}"'
    where = f' in the namespace "{a.namespace}"' if a.namespace else " at the cluster scope"
    return f'cannot {a.verb} resource "{what}"{group}{where}'
