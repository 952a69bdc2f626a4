"""The steps of an update, shared by the Flask handlers (master.api.resources:
PUT, PATCH, apply, scale) and the direct status path (master.api.directstatus):
the state and the caller are arguments, so nothing here reads Flask's globals.
"""

from __future__ import annotations

import contextlib
from typing import Any

from coxapi import errors, kinds
from coxapi.meta import is_version
from raftstore.nonblocking import WouldBlock

from ..admission import deletion, strategy
from ..auth import User
from ..objects import modified_conflict
from . import creation, dryrun, paths
from .state import ApiState

Obj = dict[str, Any]


def write_lease(st: ApiState, kind: kinds.Kind, nowait: bool = False) -> int:
    """The store lease a write of ``kind`` takes: for Events the current one,
    so an Event lives its TTL after its last write, not after its creation
    (kube-apiserver gives each Event write a lease); 0 for every other kind.
    ``nowait``: on the event loop, raising ``WouldBlock`` when taking it would
    wait (master.eventleases)."""
    if not kind.strategy.lease_backed:
        return 0
    return st.event_leases.current_nowait() if nowait else st.event_leases.current()


def current(st: ApiState, t: paths.Target, body: Obj) -> Obj:
    """The object an update applies to. When the body names the version its
    writer read and this replica holds exactly that version, it is read here
    (as Kubernetes' GuaranteedUpdate starts from the watch cache): the
    compare-and-swap at that version then decides just as after a linearizable
    read, one Raft round trip sooner. Otherwise the latest, through Raft."""
    rv = (body.get("metadata") or {}).get("resourceVersion")
    if rv:
        with contextlib.suppress(errors.NotFound):
            local = st.objects.get(t.kind, t.namespace, t.object_name, linearizable=False)
            held, wanted = local["metadata"].get("resourceVersion"), str(rv)
            if held == wanted:
                return local
            if is_version(wanted) and int(held) > int(wanted):
                # newer here than the version the writer read: the compare-and-swap
                # could only fail, so answer its 409 without the Raft read
                raise modified_conflict(t.kind, t.object_name)
    return st.objects.get(t.kind, t.namespace, t.object_name)


def prepare(t: paths.Target, cur: Obj, body: Obj) -> Obj:
    uid = body["metadata"].get("uid")
    if uid and uid != cur["metadata"].get("uid"):
        raise errors.Conflict(f"Precondition failed: UID in precondition: {uid}, "
                              f"UID in object meta: {cur['metadata'].get('uid')}")
    if t.subresource == "status":
        return strategy.prepare_status_update(t.kind, cur, body)
    return strategy.prepare_update(t.kind, cur, body)


def commit(st: ApiState, user: User | None, kind: kinds.Kind, cur: Obj, new: Obj,
           dry_run: bool = False) -> Obj:
    """Admit ``new`` over ``cur`` and write it (compare-and-swap at ``cur``'s
    version); an object whose last finalizer went while it is being deleted
    is deleted instead."""
    creation.admit(st, user, kind, cur, new)
    if dry_run:
        return dryrun.would_update(kind, cur, new)
    if deletion.finished_finalizing(kind, new):
        m = new["metadata"]
        st.objects.delete(kind, m.get("namespace"), m["name"],
                          expect_resource_version=m.get("resourceVersion")
                          or cur["metadata"]["resourceVersion"])
        return new
    lease = write_lease(st, kind)
    try:
        return st.objects.update(new, old=cur, lease=lease)
    except errors.ApiError as e:
        if not st.event_leases.forgot(lease, e):
            raise
    return st.objects.update(new, old=cur, lease=write_lease(st, kind))


async def commit_async(st: ApiState, user: User | None, kind: kinds.Kind, cur: Obj,
                       new: Obj) -> Obj:
    """``commit`` on the API's event loop, within raftstore's ``nonblocking``:
    the write is awaited; a delete (the last finalizer gone) raises
    ``WouldBlock`` before it writes, and the caller makes the whole update in
    a worker thread."""
    creation.admit(st, user, kind, cur, new)
    if deletion.finished_finalizing(kind, new):
        raise WouldBlock("an object whose last finalizer went is deleted")
    lease = write_lease(st, kind, nowait=True)
    try:
        return await st.objects.update_async(new, old=cur, lease=lease)
    except errors.ApiError as e:
        if st.event_leases.forgot(lease, e):
            raise WouldBlock("the Events' store lease is gone") from e
        raise
