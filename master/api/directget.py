"""Reads of one object with ``resourceVersion=0`` or ``resourceVersion=N``
answered from the watch cache on the event loop, without Flask.

``resourceVersion=0`` asks for any recent state and ``resourceVersion=N`` for
any state not older than N, which Kubernetes serves from its watch cache;
node agents read their Node (to post its status) this way, and an endpoint
drain the leader's record of the proxies (at the version of the pod it
stops). The cache holds each object's JSON, so the answer is those bytes, and
it waits for no worker thread.

Everything else goes to the Flask handler (master.api.resources ``_get``),
which answers the same bytes: a consistent read (through Raft), a version this
replica has not reached yet, an object the cache does not hold (a write
through another master it has not seen yet; or none: the 404 is Flask's), a
Table, a converted version, and every error, refusal included.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from coxapi import errors
from raftstore.nonblocking import WouldBlock, nonblocking

from ..auth import User
from . import authfacts, authz, params, paths, tables
from .directcreate import Answer, headers
from .state import ApiState

log = logging.getLogger(__name__)


def applies(method: str, target: paths.Target) -> bool:
    """A GET of one object (not a subresource), served in its stored version."""
    return (method == "GET" and target.name is not None and target.subresource is None
            and not target.kind.strategy.review and target.conversion is None)


async def answer_async(st: ApiState, user: User, path: str, t: paths.Target,
                       query: Mapping[str, str], accept: str | None,
                       raw: bytes) -> Answer | None:
    """The object's answer, or None for the Flask handler to give it."""
    try:
        version = params.resource_version(query)
        if version is None or tables.requested(accept, query) is not None:
            return None
        if authz.MASTERS_GROUP not in user.groups:  # as resources._authorize
            with nonblocking():  # a node's rules read this replica's copy of the object
                authz.check(user, authz.Request("GET", t, None), authfacts.facts(st.objects, t),
                            st.rbac)
    except (errors.ApiError, WouldBlock):
        return None  # Flask says what is wrong, as for every other request
    cache = st.caches.get(t.kind)
    if not cache.ready.is_set() or (version != "0" and not cache.sync(int(version), 0)):
        return None
    entry = cache.get(t.kind.storage_key(t.namespace, t.object_name))
    if entry is None:
        return None
    payload = entry.raw + b"\n"
    if log.isEnabledFor(logging.DEBUG):
        log.debug("GET %s 200 (%s)", path, user.name)
    return 200, headers([("Content-Type", "application/json"),
                         ("Content-Length", str(len(payload)))]), payload
