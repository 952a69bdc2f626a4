"""The answers to the self reviews (``coxapi.kinds.selfsubject*``): who the
caller is and whether the caller may do something, decided exactly as a real
request would be (master.api.authz with RBAC), so ``kubectl auth can-i`` and
``kubectl auth whoami`` tell the truth."""

from __future__ import annotations

from typing import Any

from coxapi import errors, kinds
from coxapi.rbac import AUTHENTICATED, Attributes
from coxapi.validation.common import Errors

from ..auth import MASTERS_GROUP, User
from ..objects import ObjectStore
from . import authfacts, authz
from .paths import Target
from .rbacauthz import RbacAuthorizer

Obj = dict[str, Any]


class CallerReviewer:
    def __init__(self, user: User, objects: ObjectStore, rbac: RbacAuthorizer) -> None:
        self.user, self.objects, self.rbac = user, objects, rbac

    def user_info(self) -> Obj:
        groups = list(self.user.groups)
        if AUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
        return {"username": self.user.name, "uid": self.user.uid, "groups": groups}

    def access(self, spec: Obj) -> tuple[bool, str]:
        res = spec.get("resourceAttributes")
        if not isinstance(res, dict):
            non = spec.get("nonResourceAttributes") or {}
            return self._non_resource(str(non.get("verb", "")), str(non.get("path", "")))
        verb, resource = str(res.get("verb", "")), str(res.get("resource", ""))
        group, ns = str(res.get("group", "")), str(res.get("namespace", "") or "")
        name, sub = str(res.get("name", "") or ""), str(res.get("subresource", "") or "")
        try:
            kind = kinds.lookup(f"{resource}.{group}" if group else resource)
        except kinds.UnknownKind:
            kind = None
        if kind is None or kind.group != group or authz.node_name(self.user) is None:
            # RBAC (and masters) decide on the attributes alone, known kind or not
            if MASTERS_GROUP in self.user.groups:
                return True, ""
            if authz.NODES_GROUP in self.user.groups:
                return False, "nodes are decided by the node authorizer"
            a = Attributes(verb=verb, resource=resource, api_group=group, subresource=sub,
                           name=name, namespace=ns)
            reason = self.rbac.decide(self.user, a)
            return reason is None, reason or ""
        target = Target(kind, ns or None, name or None, sub or None)
        method = {"get": "GET", "list": "GET", "watch": "GET", "create": "POST",
                  "update": "PUT", "patch": "PATCH", "delete": "DELETE",
                  "deletecollection": "DELETE"}.get(verb, verb.upper())
        req = authz.Request(method, target, watch=verb == "watch")
        reason = authz.decide(self.user, req, authfacts.facts(self.objects, target))
        return reason is None, reason or ""

    def _non_resource(self, verb: str, path: str) -> tuple[bool, str]:
        reason = non_resource_decision(self.rbac, self.user, verb, path)
        return reason is None, reason or ""


def non_resource_decision(rbac: RbacAuthorizer, user: User, verb: str, path: str) -> str | None:
    """Masters and nodes may use every non-resource URL (discovery, health);
    everyone else as RBAC says."""
    if MASTERS_GROUP in user.groups or authz.NODES_GROUP in user.groups:
        return None
    return rbac.decide(user, Attributes(verb=verb, path=path))


def answer(kind: kinds.Kind, body: Obj, reviewer: CallerReviewer) -> Obj:
    errs = Errors()
    kind.strategy.validate(errs, body)
    if errs.causes:
        raise errors.Invalid.fields(kind.kind, "", errs.causes)
    return kind.strategy.answer(body, reviewer)
