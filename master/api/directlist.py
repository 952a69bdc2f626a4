"""Lists answered from the watch cache on the event loop, without Flask.

A list that may take the cache's state as it is, with no wait (``resourceVersion=0``,
or ``resourceVersion=N`` once this replica's cache has reached N), and that
looks at few objects, is answered on the API's event loop: the cache holds
each object's JSON already, so the answer is a join of bytes, and it waits
for no worker thread behind the master's writes (a node agent's endpoint
drain lists Endpoints and Leases this way for every pod it stops).

Everything else goes to the Flask handler (master.api.resources ``_list``),
which answers the same bytes: a consistent list (it reads the revision
through Raft first), a version this replica has not reached yet (it waits a
moment), a large range (it would stall every stream of the loop), a Table, a
converted version, and every error, refusal included, so each is said once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping

from coxapi import errors
from raftstore.nonblocking import WouldBlock, nonblocking

from ..auth import User
from ..watchcache import Entry, KindCache
from . import authfacts, authz, fields, params, paths, tables
from .directcreate import Answer, headers
from .state import ApiState

log = logging.getLogger(__name__)

# Objects a list on the loop may look at: a larger one is listed in a worker
# thread. 500 is Kubernetes' default page; joining their JSON takes about 1 ms.
LOOP_LIST_OBJECTS = 500


def applies(method: str, target: paths.Target | None) -> bool:
    """A GET of a collection that holds objects, served in its stored version."""
    return (method == "GET" and target is not None and target.name is None
            and target.subresource is None and not target.kind.strategy.review
            and target.conversion is None)


def json_body(t: paths.Target, entries: list[Entry], revision: int,
              last_key: str | None) -> bytes:
    """The list as JSON, each object's bytes as the cache encoded them."""
    meta: dict[str, str] = {"resourceVersion": str(revision)}
    if last_key:
        meta["continue"] = params.encode_continue(last_key)
    head = json.dumps({"kind": f"{t.kind.kind}List", "apiVersion": t.kind.api_version,
                       "metadata": meta}, separators=(",", ":"))
    return b"".join((head[:-1].encode(), b',"items":[', b",".join(e.raw for e in entries),
                     b"]}\n"))


def _current(cache: KindCache, opts: params.ListOptions) -> bool:
    """The cache may answer now, waiting for nothing."""
    if not cache.ready.is_set():
        return False
    if opts.stale_ok:
        return True
    return opts.resource_version is not None and cache.sync(int(opts.resource_version), 0)


def _small(cache: KindCache, t: paths.Target, opts: params.ListOptions,
           check: Callable[[dict], bool] | None, indexed: str | None) -> bool:
    if opts.limit and opts.limit <= LOOP_LIST_OBJECTS and not opts.label_selector \
            and check is None:
        return True  # the cache takes only the page
    return cache.count(t.namespace, opts.continue_key, indexed) <= LOOP_LIST_OBJECTS


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], accept: str | None,
                       raw: bytes) -> Answer | None:
    """The list's answer, or None for the Flask handler to give it."""
    try:
        opts = params.list_options(query, t.kind.kind, t.kind.storage_prefix(t.namespace))
        if opts.watch or tables.requested(accept, query) is not None:
            return None
        if authz.MASTERS_GROUP not in user.groups:  # as resources._authorize
            with nonblocking():  # the rules read this replica's memory at most
                authz.check(user, authz.Request("GET", t, None), authfacts.facts(st.objects, t),
                            st.rbac)
    except (errors.ApiError, WouldBlock):
        return None  # Flask says what is wrong, as for every other request
    cache = st.caches.get(t.kind)

    def predicate(o: dict) -> bool:
        return fields.matches(opts.field_selector, o)

    check = predicate if opts.field_selector else None
    indexed = fields.required_value(opts.field_selector, cache.indexed_field)
    if not _current(cache, opts) or not _small(cache, t, opts, check, indexed):
        return None
    entries, revision, last_key = cache.list(t.namespace, opts.label_selector, check,
                                             opts.limit, opts.continue_key, indexed)
    payload = json_body(t, entries, revision, last_key)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("GET %s 200 (%s)", path, user.name)
    return 200, headers([("Content-Type", "application/json"),
                         ("Content-Length", str(len(payload)))]), payload
