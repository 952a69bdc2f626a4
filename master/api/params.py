"""Parsing of request bodies and query parameters into typed options.

Everything a client sends passes through here first: a malformed value is a
400 naming the parameter, before any handler or the store sees it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from coxapi import errors, labels, protobody
from coxapi.meta import is_version

from ..admission.deletion import DeleteOptions
from . import fields

MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"  # server-side apply: YAML (or JSON) object
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
# What a create, an update or a delete's options may be sent as: kubectl's
# typed clients send protobuf and never retry as JSON. CBOR gets a 415, after
# which client-go does.
JSON = "application/json"
PROTOBUF = protobody.CONTENT_TYPE
BODY_TYPES = (JSON, *_YAML_TYPES, PROTOBUF)
PROPAGATION_POLICIES = ("Background", "Foreground", "Orphan")


class _NoAliasLoader(yaml.SafeLoader):
    """YAML without anchors/aliases: an alias bomb would expand on the way to JSON."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("YAML aliases are not allowed")
        return super().compose_node(parent, index)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def request_too_large(limit: int) -> str:
    """Kubernetes' words for a body over its limit (3 MiB there and here)."""
    return f"Request entity too large: limit is {limit}"


def parse_body(raw: bytes, mimetype: str, *, allow_empty: bool = False,
               json_array: bool = False, accepted: tuple[str, ...] = BODY_TYPES) -> Any:
    """Decode a JSON (or YAML) body; 415 when its media type is not one of
    ``accepted``, 400 when it is not a well-formed object (or, with
    ``json_array``, array: a JSON patch)."""
    if not raw.strip():
        if allow_empty:
            return None
        raise errors.BadRequest("the request body is empty; an object is required")
    if not mimetype and JSON in accepted:
        mimetype = JSON  # as Kubernetes reads a body without a Content-Type (the Python client's)
    if mimetype not in accepted:
        shown = ", ".join(t for t in accepted if t != "application/x-yaml")
        raise errors.UnsupportedMediaType(
            f"the body of the request was in an unknown format ({mimetype or 'no Content-Type'})"
            f" - accepted media types include: {shown}")
    yaml_body = mimetype in _YAML_TYPES or mimetype == APPLY_PATCH
    if mimetype == PROTOBUF:
        body = _protobuf(raw)
    else:
        try:
            text = raw.decode("utf-8")
            if yaml_body:
                body = yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader
            else:
                body = json.loads(text, parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError, yaml.YAMLError) as e:
            kind = "YAML" if yaml_body else "JSON"
            raise errors.BadRequest(f"the request body is not valid {kind}: {_short(e)}") \
                from None
    # JSON nests only with brackets: without more than MAX_DEPTH of them (strings'
    # included) it cannot be too deep, and counting bytes costs far less than a walk
    shallow = mimetype != PROTOBUF and not yaml_body and \
        raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
    if not shallow and _too_deep(body):
        raise errors.BadRequest(f"the request body is nested more than {MAX_DEPTH} levels deep")
    if json_array:
        if not isinstance(body, list):
            raise errors.BadRequest("the request body must be a JSON array (a JSON patch)")
    elif not isinstance(body, dict):
        raise errors.BadRequest("the request body must be a JSON object")
    return body


def _protobuf(raw: bytes) -> Any:
    try:
        return protobody.decode(raw)
    except protobody.Unsupported as e:
        raise errors.UnsupportedMediaType(f"the protobuf body cannot be read here: {e}") from None
    except protobody.Malformed as e:
        raise errors.BadRequest(f"the request body is not valid protobuf: {e}") from None


MAX_DEPTH = 100


def _too_deep(body: Any) -> bool:
    """Iteratively, so a hostile body cannot exhaust the stack here or later."""
    stack = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _short(e: Exception) -> str:
    return str(e).splitlines()[0][:200]


def _int(query: Mapping[str, str], name: str, minimum: int = 0) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.BadRequest(f"{name}: invalid value {raw!r}: must be an integer") from None
    if value < minimum:
        raise errors.BadRequest(f"{name}: invalid value {value}: must be >= {minimum}")
    return value


def _bool(query: Mapping[str, str], name: str) -> bool:
    raw = (query.get(name) or "").lower()
    if raw in ("", "false", "0"):
        return False
    if raw in ("true", "1"):
        return True
    raise errors.BadRequest(f"{name}: invalid value {raw!r}: must be true or false")


MAX_FIELD_MANAGER = 128


def apply_options(query: Mapping[str, str], is_apply: bool) -> tuple[str, bool]:
    """(fieldManager, force) of a PATCH; 422 as Kubernetes' PatchOptions
    validation: an apply names its manager, only an apply may force."""
    manager, force = query.get("fieldManager") or "", _bool(query, "force")
    causes = []
    if is_apply and not manager:
        causes.append(("fieldManager", "Required value: is required for apply patch"))
    if not is_apply and "force" in query:
        causes.append(("force", "Forbidden: may not be specified for non-apply patch"))
    if len(manager) > MAX_FIELD_MANAGER:
        causes.append(("fieldManager", f"Too long: may not be more than {MAX_FIELD_MANAGER} "
                                       f"bytes"))
    if causes:
        raise errors.Invalid.fields("PatchOptions", "", causes)
    return manager, force


def resource_version(query: Mapping[str, str]) -> str | None:
    rv = query.get("resourceVersion")
    if rv in (None, ""):
        return None
    if not is_version(rv):
        raise errors.BadRequest(f"resourceVersion: invalid value {rv!r}: must be a number")
    return rv


def encode_continue(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode()


def decode_continue(token: str, prefix: str) -> str:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))["k"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise errors.BadRequest("continue: invalid continue token") from None
    if not isinstance(key, str) or not key.startswith(prefix):
        raise errors.BadRequest("continue: the continue token is for a different collection")
    return key


@dataclass(frozen=True)
class ListOptions:
    label_selector: labels.Selector = ()
    field_selector: fields.FieldSelector = ()
    limit: int = 0
    continue_key: str | None = None
    resource_version: str | None = None
    watch: bool = False
    timeout_seconds: int | None = None
    allow_bookmarks: bool = False

    @property
    def stale_ok(self) -> bool:
        """``resourceVersion=0`` on a read means "any version": a local read."""
        return self.resource_version == "0"


def list_options(query: Mapping[str, str], kind: str, storage_prefix: str) -> ListOptions:
    try:
        label_selector = labels.parse_selector(query.get("labelSelector"))
    except labels.SelectorError as e:
        raise errors.BadRequest(f"labelSelector: {e}") from None
    token = query.get("continue")
    return ListOptions(
        label_selector=label_selector,
        field_selector=fields.parse(query.get("fieldSelector"), kind),
        limit=_int(query, "limit") or 0,
        continue_key=decode_continue(token, storage_prefix) if token else None,
        resource_version=resource_version(query),
        watch=_bool(query, "watch"),
        timeout_seconds=_int(query, "timeoutSeconds"),
        allow_bookmarks=_bool(query, "allowWatchBookmarks"),
    )


def delete_options(body: Mapping[str, Any] | None, query: Mapping[str, str]) -> DeleteOptions:
    body = body or {}
    if body.get("kind") not in (None, "DeleteOptions"):
        raise errors.BadRequest(f"the body of a DELETE must be DeleteOptions, not {body['kind']!r}")
    grace = body.get("gracePeriodSeconds")
    if grace is None:
        grace = _int(query, "gracePeriodSeconds")
    elif not isinstance(grace, int) or isinstance(grace, bool) or grace < 0:
        raise errors.BadRequest(f"gracePeriodSeconds: invalid value {grace!r}: must be an integer >= 0")
    policy = body.get("propagationPolicy") or query.get("propagationPolicy")
    if body.get("orphanDependents") is True and not policy:
        policy = "Orphan"
    if policy is not None and policy not in PROPAGATION_POLICIES:
        raise errors.BadRequest(f"propagationPolicy: unsupported value {policy!r}: "
                                f"supported values: {', '.join(PROPAGATION_POLICIES)}")
    pre = body.get("preconditions") or {}
    if not isinstance(pre, dict):
        raise errors.BadRequest("preconditions: must be an object")
    return DeleteOptions(grace, policy, pre.get("uid"), pre.get("resourceVersion"))
