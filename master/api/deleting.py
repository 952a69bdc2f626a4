"""Deleting one object, as a DELETE asks (master.admission.deletion plans it:
mark it with a grace period, or remove it), without Flask: what the Flask
handlers (master.api.resources: delete, evict, delete a collection) and the
direct path (master.api.directdelete) share.

The first try may start from this replica's copy, as Kubernetes' delete
starts from the watch cache's: when the copy meets the preconditions and the
delete writes, the write is a compare-and-swap at the copy's version, which a
stale copy fails, and the retry reads through Raft. Otherwise (a dry run, a
precondition the copy fails, nothing to write): the latest, through Raft.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coxapi import errors, kinds
from coxapi.jsoncopy import json_copy
from coxapi.retry import retry_on_conflict
from coxapi.timefmt import rfc3339
from raftstore.nonblocking import WouldBlock

from ..admission import deletion
from . import paths
from .state import ApiState

Obj = dict[str, Any]


def delete_object(st: ApiState, kind: kinds.Kind, namespace: str | None, name: str,
                  opts: deletion.DeleteOptions, dry_run: bool = False) -> tuple[Obj, bool]:
    """(the object as it was removed or as it is now marked, whether it is gone)."""
    local_first = not dry_run

    def latest() -> Obj:
        nonlocal local_first
        if local_first:
            local_first = False  # the first try only
            return st.objects.get_local_first(kind, namespace, name,
                                              usable=lambda o: _writes(st, kind, o, opts))
        return st.objects.get(kind, namespace, name)

    def attempt() -> tuple[Obj, bool]:
        cur = latest()
        deletion.check_preconditions(cur, opts)
        plan = deletion.plan(kind, cur, opts, _now(st))
        if dry_run:
            return (cur if plan.updated is None else plan.updated), plan.remove
        if not plan.remove:
            return (cur if plan.updated is None
                    else st.objects.update(plan.updated, old=cur)), False
        if opts.propagation_policy == "Orphan":
            cur = _mark_deleting(st, cur)
            deletion.orphan_dependents(st.objects, cur)
        return st.objects.delete(kind, namespace, name,
                                 expect_resource_version=cur["metadata"]["resourceVersion"]), True
    return attempt() if opts.precondition_resource_version else retry_on_conflict(attempt)


async def delete_object_async(st: ApiState, kind: kinds.Kind, namespace: str | None, name: str,
                              opts: deletion.DeleteOptions) -> tuple[Obj, bool]:
    """``delete_object`` (not a dry run) on an event loop, within raftstore's
    ``nonblocking``: its first try, from this replica's copy, with the commit
    awaited. ``WouldBlock`` (nothing written) where that try would not do:
    the copy is missing or will not do (read through Raft), it was stale (the
    write's compare-and-swap failed: retried from the latest), or dependents
    are to be orphaned (several writes)."""
    cur = st.objects.get_local_first(kind, namespace, name,
                                     usable=lambda o: _writes(st, kind, o, opts))
    deletion.check_preconditions(cur, opts)
    plan = deletion.plan(kind, cur, opts, _now(st))
    if not plan.remove and plan.updated is None:
        return cur, False
    if plan.remove and opts.propagation_policy == "Orphan":
        raise WouldBlock("orphaning the dependents writes each of them")
    try:
        if plan.remove:
            return await st.objects.delete_async(
                kind, namespace, name,
                expect_resource_version=cur["metadata"]["resourceVersion"]), True
        assert plan.updated is not None  # (nothing to write returned above)
        return await st.objects.update_async(plan.updated, old=cur), False
    except errors.Conflict as e:
        raise WouldBlock("this replica's copy was stale") from e


def answer_body(t: paths.Target, obj: Obj, removed: bool) -> Obj:
    """What a DELETE answers: the object (marked, or as removed when its kind
    returns it), or a Status when it was removed at once."""
    if removed and not t.kind.strategy.return_deleted_object:
        return deleted_status(t.kind, obj)
    return t.served.from_stored(obj)


def deleted_status(kind: kinds.Kind, obj: Obj) -> Obj:
    """What Kubernetes answers a DELETE that removed the object at once (one
    that only marked it for deletion answers the object, and so do pods and
    services always): ``details.kind`` is the resource, as Kubernetes writes it."""
    meta = obj.get("metadata") or {}
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": meta.get("name", ""), "group": kind.group,
                        "kind": kind.plural, "uid": meta.get("uid", "")}}


def _writes(st: ApiState, kind: kinds.Kind, obj: Obj, opts: deletion.DeleteOptions) -> bool:
    """Whether deleting ``obj`` as ``opts`` ask writes (its preconditions met)."""
    try:
        deletion.check_preconditions(obj, opts)
    except errors.Conflict:
        return False
    plan = deletion.plan(kind, obj, opts, _now(st))
    return plan.remove or plan.updated is not None


def _mark_deleting(st: ApiState, obj: Obj) -> Obj:
    """Set ``deletionTimestamp`` before the dependents are orphaned: a
    controller rechecks its owner before adopting (controllers.ownership), so
    it cannot take back what is orphaned while the owner still exists."""
    if obj["metadata"].get("deletionTimestamp"):
        return obj
    marked = json_copy(obj)
    marked["metadata"]["deletionTimestamp"] = rfc3339(_now(st))
    marked["metadata"].setdefault("deletionGracePeriodSeconds", 0)
    return st.objects.update(marked, old=obj)


def _now(st: ApiState) -> datetime:
    return datetime.fromtimestamp(st.objects.clock(), UTC)
