"""The resource endpoints: one blueprint per API group-version, serving every
kind of that group with Kubernetes' verbs (get, list, watch, create, update,
patch (merge, strategic, JSON, server-side apply), delete, deletecollection)
and the status, scale, log, token and eviction subresources.

Handlers parse and check the request, let the admission layer prepare the
object (pure), then make one compare-and-swap write through the ObjectStore.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, g, request

from coxapi import errors, kinds, patchmeta, schema, smp, ssa
from coxapi.meta import merge_patch
from coxapi.retry import retry_on_conflict
from coxapi.timefmt import rfc3339

from ..admission import strategy
from ..watchcache import KindCache
from . import (
    authfacts,
    authz,
    creation,
    deleting,
    directlist,
    discovery,
    dryrun,
    eviction,
    fields,
    fieldvalidation,
    jsonpatch,
    params,
    paths,
    responses,
    reviews,
    scale,
    tables,
    tokenrequest,
    updating,
)
from .params import request_too_large
from .responses import json_response
from .state import state

Obj = dict[str, Any]

_PATCH_TYPES = (params.MERGE_PATCH, params.STRATEGIC_PATCH, params.JSON_PATCH)
_ATTEMPTS = 8


def create_blueprint(group_version: str) -> Blueprint:
    ks = kinds.group_versions()[group_version]
    name = "api_" + group_version.replace("/", "_").replace(".", "_")
    bp = Blueprint(name, __name__, url_prefix=ks[0].group_version_prefix)

    @bp.get("")
    @bp.get("/")
    def resource_list() -> Response:
        return json_response(discovery.api_resource_list(group_version))

    @bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def dispatch(rest: str) -> Response:
        target = paths.parse(group_version, rest)
        _authorize(target)
        return _dispatch(target)

    return bp


def _dispatch(t: paths.Target) -> Response:
    method = request.method
    handler: Callable[[paths.Target], Response] | None
    if t.kind.strategy.review:
        handler = _review if method == "POST" and t.name is None else None
    elif t.name is None:
        handler = {"GET": _list, "POST": _create, "DELETE": _delete_collection}.get(method)
    elif t.subresource == "scale":
        handler = {"GET": _get_scale, "PUT": _update_scale, "PATCH": _patch}.get(method)
    elif t.subresource == "log":
        handler = _logs if method == "GET" else None
    elif t.subresource == "token":
        handler = _token if method == "POST" else None
    elif t.subresource == "eviction":
        handler = _evict if method == "POST" else None
    elif t.subresource == "status":
        handler = {"GET": _get, "PUT": _update, "PATCH": _patch}.get(method)
    else:
        handler = {"GET": _get, "PUT": _update, "PATCH": _patch, "DELETE": _delete}.get(method)
    if handler is None:
        raise errors.MethodNotAllowed(f"the server does not allow this method on the requested "
                                      f"resource ({method} {request.path})")
    return handler(t)


def _authorize(t: paths.Target) -> None:
    user = getattr(g, "user", None)
    if user is None or authz.MASTERS_GROUP in user.groups:
        return  # skip the work for the admins
    name = None
    if request.method == "POST":
        try:
            name = authz.body_name(_body())
        except errors.ApiError:
            name = None  # the handler reports the bad body
    authz.check(user, authz.Request(request.method, t, name),
                authfacts.facts(state().objects, t), state().rbac)


def _admit(kind: kinds.Kind, old: Obj | None, new: Obj) -> None:
    """NodeRestriction, and RBAC's escalation check on roles and bindings."""
    creation.admit(state(), getattr(g, "user", None), kind, old, new)


# ---- request helpers -------------------------------------------------------


def _body(allow_empty: bool = False, json_array: bool = False,
          accepted: tuple[str, ...] = params.BODY_TYPES) -> Any:
    raw = request.get_data(cache=True)
    limit = state().config.max_body_bytes
    if len(raw) > limit:
        raise errors.RequestEntityTooLarge(request_too_large(limit))
    return params.parse_body(raw, request.mimetype, allow_empty=allow_empty,
                             json_array=json_array, accepted=accepted)


def _now() -> datetime:
    return datetime.fromtimestamp(state().objects.clock(), UTC)


# ---- reads -----------------------------------------------------------------


def _get(t: paths.Target) -> Response:
    as_table = tables.requested(request.headers.get("Accept"), request.args)
    obj = state().objects.get(t.kind, t.namespace, t.object_name,
                              linearizable=not _local_read_will_do(t.kind, request.args))
    if as_table is not None:
        return _table_response(as_table, t.served, [obj],
                               {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
    return json_response(t.served.from_stored(obj))


def _table_response(as_table: tables.TableRequest, kind: kinds.Kind, objs: list[Obj],
                    meta: Obj) -> Response:
    return Response(as_table.encode(kind, objs, meta) + b"\n", content_type=as_table.content_type)


def _list(t: paths.Target) -> Response:
    st = state()
    opts = params.list_options(request.args, t.kind.kind, t.kind.storage_prefix(t.namespace))
    if opts.watch:  # the server's event loop serves watches (master.asgi); this app cannot
        raise errors.BadRequest("watch requests are served by the API server, not this app")

    def predicate(o: Obj) -> bool:
        return fields.matches(opts.field_selector, o)

    check = predicate if opts.field_selector else None
    as_table = tables.requested(request.headers.get("Accept"), request.args)
    cache = _list_cache(t, opts)
    if cache is not None:
        # Join each object's JSON as the cache encoded it.
        entries, rev, last_key = cache.list(
            t.namespace, opts.label_selector, check, opts.limit, opts.continue_key,
            fields.required_value(opts.field_selector, cache.indexed_field))
        if as_table is None and t.conversion is None:  # as the event loop answers it
            return Response(directlist.json_body(t, entries, rev, last_key),
                            mimetype="application/json")
        meta: Obj = {"resourceVersion": str(rev)}
        if last_key:
            meta["continue"] = params.encode_continue(last_key)
        if as_table is not None:
            return _table_response(as_table, t.served, [e.obj for e in entries], meta)
        return _list_response(t, meta, [e.obj for e in entries])  # converted from the stored
    items, rv, last_key = st.objects.list(
        t.kind, t.namespace, opts.label_selector, check, limit=opts.limit,
        continue_token=opts.continue_key, linearizable=not opts.stale_ok)
    meta = {"resourceVersion": rv}
    if last_key:
        meta["continue"] = params.encode_continue(last_key)
    if as_table is not None:
        return _table_response(as_table, t.served, items, meta)
    return _list_response(t, meta, items)


def _list_response(t: paths.Target, meta: Obj, items: list[Obj]) -> Response:
    return json_response({"kind": f"{t.kind.kind}List", "apiVersion": t.served.api_version,
                          "metadata": meta, "items": [t.served.from_stored(o) for o in items]})


NOT_OLDER_WAIT = 0.25  # seconds a resourceVersion=N read waits for this replica to reach N


def _local_read_will_do(kind: kinds.Kind, query: Mapping[str, str]) -> bool:
    """A read of one object may take this replica's state: ``resourceVersion=0``
    (any), or ``resourceVersion=N`` once this replica has applied N (Kubernetes'
    NotOlderThan, a GET's only match; its watch cache follows this replica's
    store). Otherwise (no version, or N not reached): through Raft."""
    version = params.resource_version(query)
    if version is None:
        return False
    if version == "0":
        return True
    cache = state().caches.get(kind)
    return cache.ready.is_set() and cache.wait_for(int(version), NOT_OLDER_WAIT)


def _list_cache(t: paths.Target, opts: params.ListOptions) -> KindCache | None:
    """The watch cache, when it may answer a list: ``resourceVersion=0`` takes
    any recent state; ``resourceVersion=N`` any state not older than N
    (Kubernetes' NotOlderThan, a list's default match): the cache once it
    has caught up with N, with no read of the store; a consistent list (no
    version; a continued page too) takes the cache once it has caught up with
    the revision a linearizable read of the store returns, as Kubernetes'
    consistent reads from cache do. Otherwise (the cache is not filled yet,
    or this replica has not applied N yet) the store, consistently."""
    st = state()
    cache = st.caches.get(t.kind)
    if not cache.ready.is_set():
        return None
    if opts.stale_ok:
        return cache
    if opts.resource_version is not None:
        # a version another master wrote may need a moment to be applied here
        return cache if cache.wait_for(int(opts.resource_version), NOT_OLDER_WAIT) else None
    revision = int(st.objects.list(t.kind, t.namespace, limit=1).resource_version)
    return cache if cache.sync(revision, 0) else None


# ---- create ----------------------------------------------------------------


def _create(t: paths.Target) -> Response:
    if t.kind.namespaced and t.namespace is None:
        raise errors.MethodNotAllowed(f"{t.kind.plural} are namespaced: POST to "
                                      f"{t.kind.path('NAMESPACE')}")
    dry_run, how = _dry_run(), fieldvalidation.mode(request.args)
    body, warnings = _object_body(t, _body(), how)
    return _warned(json_response(t.served.from_stored(_create_object(t.kind, body, dry_run)),
                                 201), warnings)


_object_body = creation.object_body


def _dry_run() -> bool:
    return dryrun.requested(request.args.getlist("dryRun"))


def _delete_dry_run(body: Obj | None) -> bool:
    """A DELETE's dryRun comes in the query or, from client-go, in its DeleteOptions body."""
    values = (body or {}).get("dryRun") or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise errors.BadRequest("dryRun: must be a list of strings")
    return dryrun.requested(values + request.args.getlist("dryRun"))


def _warned(resp: Response, warnings: list[str]) -> Response:
    for w in warnings:
        resp.headers.add("Warning", fieldvalidation.warning_header(w))
    return resp


def _create_object(kind: kinds.Kind, body: Obj, dry_run: bool = False,
                   managed_fields: list[Obj] | None = None) -> Obj:
    return creation.create_object(state(), getattr(g, "user", None), kind, body, responses.warn,
                                  dry_run, managed_fields)


def _review(t: paths.Target) -> Response:
    body = _body()
    creation.check_type(t.kind, body)
    st = state()
    reviewer = reviews.CallerReviewer(g.user, st.objects, st.rbac)
    return json_response(reviews.answer(t.kind, body, reviewer), 201)


def _token(t: paths.Target) -> Response:
    """TokenRequest (master.api.tokenrequest; a master answers it on the direct path,
    master.api.directtoken)."""
    return json_response(tokenrequest.answer(state(), getattr(g, "user", None), t, _body()), 201)


# ---- update and patch ------------------------------------------------------


def _commit_update(kind: kinds.Kind, cur: Obj, new: Obj, dry_run: bool = False) -> Obj:
    return updating.commit(state(), getattr(g, "user", None), kind, cur, new, dry_run)


def _current(t: paths.Target, body: Obj) -> Obj:
    return updating.current(state(), t, body)


_prepare = updating.prepare


def _update(t: paths.Target) -> Response:
    dry_run, how = _dry_run(), fieldvalidation.mode(request.args)
    body, warnings = _object_body(t, _body(), how)
    try:
        cur = _current(t, body)
    except errors.NotFound:
        if t.kind.strategy.create_on_update and t.subresource is None:
            return _warned(json_response(t.served.from_stored(
                _create_object(t.kind, body, dry_run)), 201), warnings)
        raise
    new = _prepare(t, cur, body)
    _record_update(t, cur, new)
    return _warned(json_response(t.served.from_stored(_commit_update(t.kind, cur, new, dry_run))),
                   warnings)


def _patch(t: paths.Target) -> Response:
    if request.mimetype == params.APPLY_PATCH and t.subresource is None:
        return _apply(t)
    if request.mimetype not in _PATCH_TYPES:
        raise errors.UnsupportedMediaType(
            f"the patch type {request.mimetype!r} is not supported; use "
            f"{', '.join((*_PATCH_TYPES, params.APPLY_PATCH))}"
            + (" (apply on the main resource only)" if t.subresource else ""))
    params.apply_options(request.args, is_apply=False)
    st = state()
    dry_run, how = _dry_run(), fieldvalidation.mode(request.args)
    warnings: list[str] = []
    is_json_patch = request.mimetype == params.JSON_PATCH
    patch = _body(json_array=is_json_patch, accepted=_PATCH_TYPES)

    def patched(doc: Obj, meta: patchmeta.Fields) -> Any:
        if is_json_patch:
            return jsonpatch.apply(doc, patch)
        if request.mimetype == params.STRATEGIC_PATCH:
            return smp.apply(doc, patch, meta)
        return merge_patch(doc, patch)

    precondition = not is_json_patch and isinstance(patch.get("metadata"), dict) and \
        bool(patch["metadata"].get("resourceVersion"))

    def attempt() -> Obj:
        cur = st.objects.get(t.kind, t.namespace, t.object_name)
        if t.subresource == "scale":
            target = scale.apply_scale(cur, patched(scale.to_scale(cur), {}))
            new = strategy.prepare_update(t.kind, cur, target)
        else:
            # the patch is in the URL's version: applied to the object as it shows it
            shown = t.served.from_stored(cur)
            merged = patched(shown, t.kind.strategy.patch_fields)
            if not isinstance(merged, dict):
                raise errors.BadRequest("the patch must be a JSON object")
            # Only what this patch brings counts, not what the stored object had.
            merged, warnings[:] = _object_body(t, merged, how,
                                               set(schema.unknown_fields(t.served, shown)))
            new = _prepare(t, cur, merged)
        _record_update(t, cur, new)
        return _commit_update(t.kind, cur, new, dry_run)
    result = attempt() if precondition else retry_on_conflict(attempt)
    return _warned(json_response(scale.to_scale(result) if t.subresource == "scale"
                                 else t.served.from_stored(result)), warnings)


def _apply(t: paths.Target) -> Response:
    """Server-side apply (coxapi.ssa): create-or-update; 201 when created."""
    st = state()
    manager, force = params.apply_options(request.args, is_apply=True)
    dry_run, how = _dry_run(), fieldvalidation.mode(request.args)
    body = _body(accepted=(params.APPLY_PATCH,))
    for field in ("apiVersion", "kind"):
        if not body.get(field):
            raise errors.BadRequest(f"{field} must be set in an applied configuration")
    # applied in the stored version (its managed fields are that version's)
    body, warnings = _object_body(t, body, how)
    ignore = ("status",) if t.kind.has_status else ()

    def applied(live: Obj | None) -> Obj:
        return ssa.apply(live, body, manager, t.kind.strategy.patch_fields,
                         api_version=t.kind.api_version, now=rfc3339(_now()), force=force,
                         ignore=ignore)

    def attempt() -> tuple[Obj, int]:
        try:
            cur = st.objects.get(t.kind, t.namespace, t.object_name)
        except errors.NotFound:
            if t.kind.namespaced and t.namespace is None:
                raise
            new = applied(None)
            return t.served.from_stored(_create_object(
                t.kind, new, dry_run, new["metadata"].pop("managedFields"))), 201
        merged = applied(cur)
        new = _prepare(t, cur, merged)
        new["metadata"]["managedFields"] = merged["metadata"]["managedFields"]
        return t.served.from_stored(_commit_update(t.kind, cur, new, dry_run)), 200

    for _ in range(_ATTEMPTS - 1):
        with contextlib.suppress(errors.Conflict, errors.AlreadyExists):
            return _warned(json_response(*attempt()), warnings)
    return _warned(json_response(*attempt()), warnings)


def _record_update(t: paths.Target, cur: Obj, new: Obj) -> None:
    """A write other than an apply takes the fields it changes (coxapi.ssa); a
    status write is nobody's there, the status being no manager's field."""
    if t.subresource == "status":
        return
    manager = request.args.get("fieldManager") or \
        (request.user_agent.string or "unknown").split("/")[0][:params.MAX_FIELD_MANAGER]
    managed = ssa.record_update(cur, new, manager, t.kind.strategy.patch_fields,
                                api_version=t.kind.api_version, now=rfc3339(_now()),
                                ignore=("status",) if t.kind.has_status else ())
    if managed is not None:
        new["metadata"]["managedFields"] = managed


# ---- scale -----------------------------------------------------------------


def _get_scale(t: paths.Target) -> Response:
    return json_response(scale.to_scale(state().objects.get(t.kind, t.namespace, t.object_name)))


def _update_scale(t: paths.Target) -> Response:
    st = state()
    dry_run = _dry_run()
    body = _body()
    cur = st.objects.get(t.kind, t.namespace, t.object_name)
    new = strategy.prepare_update(t.kind, cur, scale.apply_scale(cur, body))
    _record_update(t, cur, new)
    return json_response(scale.to_scale(_commit_update(t.kind, cur, new, dry_run)))


# ---- delete ----------------------------------------------------------------


def _delete(t: paths.Target) -> Response:
    """(A master answers most on the direct path: master.api.directdelete.)"""
    body = _body(allow_empty=True)
    opts = params.delete_options(body, request.args)
    obj, removed = deleting.delete_object(state(), t.kind, t.namespace, t.object_name, opts,
                                          _delete_dry_run(body))
    return json_response(deleting.answer_body(t, obj, removed))


def _evict(t: paths.Target) -> Response:
    """Evict a pod: delete it gracefully, as the Eviction's deleteOptions say."""
    opts, raw = eviction.delete_options(_body(), t.namespace, t.object_name)
    deleting.delete_object(state(), t.kind, t.namespace, t.object_name, opts,
                           _delete_dry_run(raw))
    return json_response(eviction.SUCCESS, 201)


def _delete_collection(t: paths.Target) -> Response:
    st = state()
    opts = params.list_options(request.args, t.kind.kind, t.kind.storage_prefix(t.namespace))
    body = _body(allow_empty=True)
    dopts = params.delete_options(body, request.args)
    dry_run = _delete_dry_run(body)
    items, rv, _ = st.objects.list(t.kind, t.namespace, opts.label_selector,
                                   lambda o: fields.matches(opts.field_selector, o))
    done = []
    for item in items:
        m = item["metadata"]
        try:
            done.append(deleting.delete_object(st, t.kind, m.get("namespace"), m["name"],
                                               dopts, dry_run)[0])
        except (errors.NotFound, errors.Forbidden):
            continue
    return _list_response(t, {"resourceVersion": rv}, done)


# ---- logs ------------------------------------------------------------------


def _logs(t: paths.Target) -> Response:
    # The server's event loop proxies logs (master.asgi, podlogs): a follower
    # would hold a worker thread for as long as it reads.
    raise errors.BadRequest("pod logs are served by the API server, not this app")
