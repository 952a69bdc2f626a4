"""The OpenAPI documents of the kinds we serve, from their schemas: ``v2``
(Swagger 2.0, ``/openapi/v2``) and ``v3`` (one OpenAPI 3.0 document per
group-version, ``/openapi/v3/<api|apis/group>/<version>``). Kind definitions
carry ``x-kubernetes-group-version-kind``; lists that merge carry
``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key`` from
``coxapi.patchmeta`` (one source for the server's patching and clients').
Each kind gets its paths with Kubernetes' operations and query parameters
(kubectl looks for ``fieldValidation`` on a kind's PATCH before it asks the
server to validate). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .. import kinds, patchmeta
from ..kinds import Kind
from . import DEFINITIONS, definition_name
from .dsl import Schema

Obj = dict[str, Any]

PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json")
_STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
_V2_REFS = "#/definitions/"


# ---- schemas ---------------------------------------------------------------


def _patch_fields() -> dict[str, dict[str, patchmeta.Field]]:
    """Per definition, the patch metadata of its properties, gathered by
    walking every kind's schema alongside its patch metadata."""
    out: dict[str, dict[str, patchmeta.Field]] = {}

    def walk(name: str, fields: Mapping[str, patchmeta.Field]) -> None:
        mine = out.setdefault(name, {})
        schema = DEFINITIONS[name]
        for prop, f in fields.items():
            mine.setdefault(prop, f)
            sub = schema.properties.get(prop)
            target = sub.items if sub is not None and sub.items is not None else sub
            if target is not None and target.ref and f.fields:
                walk(target.ref, f.fields)
    for k in kinds.SERVED:
        walk(definition_name(k), k.strategy.patch_fields)
    return out


def _schema(s: Schema, ref_prefix: str, patch: patchmeta.Field | None = None) -> Obj:
    if s.ref:
        target = {"$ref": ref_prefix + s.ref}
        # v3 wraps a described reference in allOf (siblings of $ref are
        # ignored there); v2 keeps them side by side as Kubernetes does, and
        # kube-openapi's v2 parser (kubectl's validation) reads an allOf as
        # "anything goes"
        out: Obj = {"allOf": [target]} if s.description and ref_prefix != _V2_REFS else target
    elif s.int_or_string:
        out = {"type": "string", "format": s.format, "x-kubernetes-int-or-string": True}
    else:
        out = {"type": s.type}
        if s.format:
            out["format"] = s.format
    if s.description:
        out["description"] = s.description
    if s.enum:
        out["enum"] = list(s.enum)
    if s.properties:
        out["properties"] = {k: _schema(v, ref_prefix) for k, v in s.properties.items()}
    if s.required:
        out["required"] = list(s.required)
    if s.additional is not None:
        out["additionalProperties"] = _schema(s.additional, ref_prefix)
    if s.items is not None:
        out["items"] = _schema(s.items, ref_prefix)
    if s.open:
        out["x-kubernetes-preserve-unknown-fields"] = True
    if patch is not None and patch.strategy:
        out["x-kubernetes-patch-strategy"] = patch.strategy
        if patch.key:
            out["x-kubernetes-patch-merge-key"] = patch.key
    return out


def _definition(name: str, ref_prefix: str, patch: Mapping[str, patchmeta.Field],
                gvk: Obj | None) -> Obj:
    s = DEFINITIONS[name]
    out = _schema(s, ref_prefix)
    if s.properties:
        out["properties"] = {k: _schema(v, ref_prefix, patch.get(k))
                             for k, v in s.properties.items()}
    if gvk is not None:
        out["x-kubernetes-group-version-kind"] = [gvk]
    return out


def _gvk(k: Kind) -> Obj:
    return {"group": k.group, "version": k.version, "kind": k.kind}


def _reachable(roots: Iterable[str]) -> list[str]:
    seen: list[str] = []
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        todo = [DEFINITIONS[name]]
        while todo:
            s = todo.pop()
            if s.ref:
                stack.append(s.ref)
            todo.extend(s.properties.values())
            todo.extend(x for x in (s.items, s.additional) if x is not None)
    return sorted(seen)


def _definitions(names: Iterable[str], ref_prefix: str) -> Obj:
    patch = _patch_fields()
    by_name = {definition_name(k): k for k in kinds.SERVED}
    out = {n: _definition(n, ref_prefix, patch.get(n, {}),
                          _gvk(by_name[n]) if n in by_name else None) for n in names}
    out[_STATUS] = {"type": "object", "description": "Status is a return value for calls that "
                                                     "don't return other objects.",
                    "x-kubernetes-preserve-unknown-fields": True,
                    "x-kubernetes-group-version-kind": [
                        {"group": "", "version": "v1", "kind": "Status"}]}
    return out


# ---- paths -----------------------------------------------------------------

_QUERY = {
    "dryRun": "When present, indicates that modifications should not be persisted. The only "
              "valid value is All.",
    "fieldValidation": "How the server treats unknown fields in the request body: Ignore, "
                       "Warn (the default) or Strict.",
    "fieldManager": "A name associated with the actor or entity that is making these changes.",
    "pretty": "If 'true', then the output is pretty printed.",
    "labelSelector": "A selector to restrict the list of returned objects by their labels.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields.",
    "limit": "The maximum number of responses to return for a list call.",
    "continue": "The continue option should be set when retrieving more results from the "
                "server.",
    "resourceVersion": "Constrains which resource versions a request may be served from.",
    "watch": "Watch for changes to the described resources and return them as a stream.",
    "timeoutSeconds": "Timeout for the list/watch call.",
    "allowWatchBookmarks": "Requests watch events with type \"BOOKMARK\".",
    "gracePeriodSeconds": "The duration in seconds before the object should be deleted.",
    "propagationPolicy": "Whether and how garbage collection will be performed: Orphan, "
                         "Background or Foreground.",
}
_WRITE = ("dryRun", "fieldManager", "fieldValidation", "pretty")
_LIST = ("labelSelector", "fieldSelector", "limit", "continue", "resourceVersion", "watch",
         "timeoutSeconds", "allowWatchBookmarks", "pretty")
_DELETE = ("dryRun", "gracePeriodSeconds", "propagationPolicy", "pretty")


def _params(names: Iterable[str], v3: bool) -> list[Obj]:
    out = []
    for n in names:
        p: Obj = {"name": n, "in": "query", "description": _QUERY[n], "uniqueItems": True}
        typ = "integer" if n in ("limit", "timeoutSeconds", "gracePeriodSeconds") else \
            "boolean" if n in ("watch", "allowWatchBookmarks") else "string"
        if v3:
            p["schema"] = {"type": typ}
        else:
            p["type"] = typ
        out.append(p)
    return out


def _path_params(namespaced: bool, named: bool, v3: bool) -> list[Obj]:
    out = []
    for n, on in (("name", named), ("namespace", namespaced)):
        if on:
            p: Obj = {"name": n, "in": "path", "required": True, "uniqueItems": True,
                      "description": f"{n} of the " + ("object" if n == "name" else "namespace")}
            if v3:
                p["schema"] = {"type": "string"}
            else:
                p["type"] = "string"
            out.append(p)
    return out


def _op(k: Kind, action: str, op_id: str, query: Iterable[str], body_types: Iterable[str],
        response: str, ref_prefix: str, v3: bool) -> Obj:
    resp_schema = {"$ref": ref_prefix + response}
    op: Obj = {"operationId": op_id, "tags": [k.group or "core"],
               "x-kubernetes-action": action, "x-kubernetes-group-version-kind": _gvk(k),
               "parameters": _params(query, v3)}
    body_types = list(body_types)
    if v3:
        op["responses"] = {"200": {"description": "OK", "content": {
            "application/json": {"schema": resp_schema}}}}
        if body_types:
            op["requestBody"] = {"required": True, "content": {
                t: {"schema": resp_schema if t == "application/json" else
                    {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}
                for t in body_types}}
    else:
        op["responses"] = {"200": {"description": "OK", "schema": resp_schema}}
        op["produces"] = ["application/json"]
        if body_types:
            op["consumes"] = body_types
            op["parameters"].append({"name": "body", "in": "body", "required": True,
                                     "schema": resp_schema})
    return op


def _paths(k: Kind, ref_prefix: str, v3: bool) -> Obj:
    name = definition_name(k)
    scope = "Namespaced" if k.namespaced else ""
    base = k.group_version_prefix + ("/namespaces/{namespace}" if k.namespaced else "")
    collection, item = f"{base}/{k.plural}", f"{base}/{k.plural}/{{name}}"

    def op_id(verb: str, suffix: str = "") -> str:
        gv = (k.group.split(".")[0].capitalize() if k.group else "Core") + k.version.capitalize()
        return f"{verb}{gv}{scope}{k.kind}{suffix}"
    json_body = ["application/json"]
    out: Obj = {
        collection: {
            "parameters": _path_params(k.namespaced, False, v3),
            "get": _op(k, "list", op_id("list"), _LIST, (), name, ref_prefix, v3),
            "post": _op(k, "post", op_id("create"), _WRITE, json_body, name, ref_prefix, v3),
            "delete": _op(k, "deletecollection", op_id("deleteCollection"), _DELETE + _LIST[:5],
                          (), _STATUS, ref_prefix, v3),
        },
        item: {
            "parameters": _path_params(k.namespaced, True, v3),
            "get": _op(k, "get", op_id("read"), ("pretty",), (), name, ref_prefix, v3),
            "put": _op(k, "put", op_id("replace"), _WRITE, json_body, name, ref_prefix, v3),
            "patch": _op(k, "patch", op_id("patch"), _WRITE,
                         PATCH_TYPES, name, ref_prefix, v3),
            "delete": _op(k, "delete", op_id("delete"), _DELETE, (), _STATUS, ref_prefix, v3),
        },
    }
    if k.has_status:
        out[f"{item}/status"] = {
            "parameters": _path_params(k.namespaced, True, v3),
            "get": _op(k, "get", op_id("read", "Status"), ("pretty",), (), name, ref_prefix, v3),
            "put": _op(k, "put", op_id("replace", "Status"), _WRITE, json_body, name,
                       ref_prefix, v3),
            "patch": _op(k, "patch", op_id("patch", "Status"), _WRITE, PATCH_TYPES, name,
                         ref_prefix, v3),
        }
    return out


# ---- documents -------------------------------------------------------------

def _info(version: str) -> Obj:
    return {"title": "Kubernetes", "version": version}


def v2(version: str) -> Obj:
    """``version``: the server's (``/version``'s gitVersion)."""
    ref_prefix = _V2_REFS
    paths: Obj = {}
    for k in kinds.SERVED:
        paths.update(_paths(k, ref_prefix, v3=False))
    names = _reachable(definition_name(k) for k in kinds.SERVED)
    return {"swagger": "2.0", "info": _info(version), "paths": paths,
            "definitions": _definitions(names, ref_prefix)}


def group_version_path(group_version: str) -> str:
    """``api/v1``, ``apis/apps/v1``: where a group-version's v3 document lives."""
    return f"api/{group_version}" if "/" not in group_version else f"apis/{group_version}"


def v3(group_version: str, version: str) -> Obj:
    ks = kinds.group_versions()[group_version]
    ref_prefix = "#/components/schemas/"
    paths: Obj = {}
    for k in ks:
        paths.update(_paths(k, ref_prefix, v3=True))
    names = _reachable(definition_name(k) for k in ks)
    return {"openapi": "3.0.0", "info": _info(version), "paths": paths,
            "components": {"schemas": _definitions(names, ref_prefix)}}
