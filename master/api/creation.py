"""The steps of a create, shared by the Flask handler (master.api.resources)
and the direct path (master.api.directcreate): the caller, the state and where
warnings go are arguments, so neither side reads Flask's request globals here.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from coxapi import errors, kinds
from raftstore.nonblocking import WouldBlock

from ..admission import names, namespaces, podsecurity, strategy
from ..auth import User
from . import authz, dryrun, fieldvalidation, paths
from .state import ApiState

Obj = dict[str, Any]
Warn = Callable[[list[str]], None]

ATTEMPTS = 8  # generated names tried before giving up


def check_type(kind: kinds.Kind, body: Obj) -> None:
    if body.get("kind") not in (None, "", kind.kind):
        raise errors.BadRequest(f"the kind of the object ({body['kind']}) does not match the "
                                f"kind on the URL ({kind.kind})")
    if body.get("apiVersion") not in (None, "", kind.api_version):
        raise errors.BadRequest(f"the apiVersion of the object ({body['apiVersion']}) does not "
                                f"match the URL ({kind.api_version})")
    body["kind"], body["apiVersion"] = kind.kind, kind.api_version
    meta = body.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise errors.BadRequest("metadata: must be an object")


def check_identity(t: paths.Target, body: Obj) -> None:
    """Name and namespace in the body must agree with the URL (filled when absent)."""
    meta = body["metadata"]
    if t.name is not None:
        if meta.get("name") not in (None, "", t.name):
            raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match "
                                    f"the name on the URL ({t.name})")
        meta["name"] = t.name
    if t.kind.namespaced:
        if meta.get("namespace") not in (None, "", t.namespace):
            raise errors.BadRequest(f"the namespace of the provided object ({meta['namespace']}) "
                                    f"does not match the namespace sent on the request "
                                    f"({t.namespace})")
        meta["namespace"] = t.namespace
    else:
        meta.pop("namespace", None)


def object_body(t: paths.Target, body: Obj, how: str,
                known: Collection[str] = ()) -> tuple[Obj, list[str]]:
    """A request's object, checked in the URL's version (type, unknown fields
    other than ``known``: the warnings) and returned in the stored one with
    its identity checked."""
    check_type(t.served, body)
    warnings = fieldvalidation.check(how, t.served, body, known)
    body = t.served.to_stored(body)
    check_type(t.kind, body)
    check_identity(t, body)
    return body, warnings


def admit(st: ApiState, user: User | None, kind: kinds.Kind, old: Obj | None, new: Obj) -> None:
    """NodeRestriction, and RBAC's escalation check on roles and bindings."""
    if user is None or authz.MASTERS_GROUP in user.groups:
        return
    authz.admit(user, kind, old, new)
    needs = kind.strategy.write_requires(new)
    if needs and authz.node_name(user) is None:
        reason = st.rbac.extra(user, (new.get("metadata") or {}).get("namespace"), needs)
        if reason is not None:
            raise errors.Forbidden(f'{kind.plural} "{new["metadata"].get("name", "")}" is '
                                   f"forbidden: {reason}",
                                   {"name": new["metadata"].get("name", ""), "kind": kind.plural})


def create_object(st: ApiState, user: User | None, kind: kinds.Kind, body: Obj, warn: Warn,
                  dry_run: bool = False, managed_fields: list[Obj] | None = None) -> Obj:
    """Admit and store ``body`` (checked by ``check_type`` and ``check_identity``);
    Pod Security's warnings go to ``warn`` as soon as they are known."""
    generated = _generated(body["metadata"])
    for _ in range(ATTEMPTS):
        obj = _admitted(st, user, kind, body, warn, generated, managed_fields)
        lease = st.event_leases.current() if kind.strategy.lease_backed and not dry_run else 0
        try:
            if dry_run:
                return dryrun.would_create(st.objects, kind, obj)
            return st.objects.create(obj, lease=lease)
        except errors.AlreadyExists:
            if not generated:
                raise
        except errors.ApiError as e:
            if st.event_leases.forgot(lease, e):
                continue
            raise
    raise _no_unique_name()


async def create_object_async(st: ApiState, user: User | None, kind: kinds.Kind, body: Obj,
                              warn: Warn) -> Obj:
    """``create_object`` on the API's event loop, within raftstore's
    ``nonblocking``: a step that would wait raises ``WouldBlock`` before it
    writes, and the caller makes the whole create in a worker thread. So does
    an Event when the store lease the Events share is due for renewal (a Raft
    write) or gone from the store (``create_object`` takes a new one)."""
    generated = _generated(body["metadata"])
    for _ in range(ATTEMPTS):
        obj = _admitted(st, user, kind, body, warn, generated, None)
        lease = st.event_leases.current_nowait() if kind.strategy.lease_backed else 0
        try:
            return await st.objects.create_async(obj, lease=lease)
        except errors.AlreadyExists:
            if not generated:
                raise
        except errors.ApiError as e:
            if st.event_leases.forgot(lease, e):
                raise WouldBlock("the Events' store lease is gone") from e
            raise
    raise _no_unique_name()


def _generated(meta: Obj) -> bool:
    """Whether the name comes from ``generateName`` (a new one per attempt)."""
    return not meta.get("name") and isinstance(meta.get("generateName"), str) \
        and bool(meta.get("generateName"))


def _admitted(st: ApiState, user: User | None, kind: kinds.Kind, body: Obj, warn: Warn,
              generated: bool, managed_fields: list[Obj] | None) -> Obj:
    """One attempt's object: named, prepared and admitted."""
    if generated:
        body["metadata"]["name"] = names.generate(body["metadata"]["generateName"])
    obj = strategy.prepare_create(kind, body)
    if managed_fields is not None:  # the server's to write, as server-side apply does
        obj["metadata"]["managedFields"] = managed_fields
    admit(st, user, kind, None, obj)
    warn(podsecurity.admit(st.objects, kind, obj))
    if kind.namespaced:
        namespaces.check_writable(st.objects, obj["metadata"]["namespace"], kind.plural,
                                  obj["metadata"]["name"])
    return obj


def _no_unique_name() -> errors.ApiError:
    return errors.ApiError.from_status({"code": 500, "reason": "ServerTimeout",
                                        "message": "could not generate a unique name; try again"})
