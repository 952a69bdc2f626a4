"""Pod facts the controllers share: activity, readiness, availability, and
deleting a pod the way the API does (graceful when a node may run it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coxapi import errors, kinds, timefmt
from coxapi.meta import get_condition, is_terminating
from coxapi.retry import retry_on_conflict

from ..admission.deletion import DeleteOptions, plan
from ..objects import ObjectStore

Obj = dict[str, Any]
_POD = kinds.lookup("Pod")


def is_active(pod: Obj) -> bool:
    """Counts toward a controller's replicas: not finished, not terminating."""
    phase = (pod.get("status") or {}).get("phase")
    return phase not in ("Succeeded", "Failed") and not is_terminating(pod)


def is_ready(pod: Obj) -> bool:
    c = get_condition(pod, "Ready")
    return bool(c and c.get("status") == "True")


def ready_since(pod: Obj) -> float | None:
    c = get_condition(pod, "Ready")
    if not c or c.get("status") != "True":
        return None
    return timefmt.parse_epoch(c.get("lastTransitionTime")) or 0.0


def available_in(pod: Obj, min_ready_seconds: float, now: float) -> float | None:
    """0 if the pod is available now (ready for ``min_ready_seconds``), the
    seconds until it will be if it is ready, None if it is not ready (or not
    active). Without ``minReadySeconds`` no time is read: syncs of large sets
    call this for every pod."""
    c = get_condition(pod, "Ready")
    if not c or c.get("status") != "True" or not is_active(pod):
        return None
    if min_ready_seconds <= 0:
        return 0.0
    since = timefmt.parse_epoch(c.get("lastTransitionTime")) or 0.0
    return max(0.0, since + min_ready_seconds - now)


def delete_pod(objects: ObjectStore, pod: Obj, now: float, grace: int | None = None) -> None:
    """Delete like ``DELETE .../pods/{name}``: a bound pod is marked with a
    deletionTimestamp for its node agent to stop; an unbound one (or
    ``grace=0``) is removed at once. Only the pod with this uid is touched
    (compare-and-swap on what was read); NotFound is success."""
    meta = pod["metadata"]
    ns, name, uid = meta.get("namespace"), meta["name"], meta.get("uid")
    # the first try starts from the caller's copy (its informer's): the write is a
    # compare-and-swap at that version, and a stale copy's retry reads through Raft
    first = [pod] if meta.get("resourceVersion") else []

    def attempt() -> None:
        try:
            cur = first.pop() if first else objects.get("Pod", ns, name)
            if uid and cur["metadata"].get("uid") != uid:
                return
            p = plan(_POD, cur, DeleteOptions(grace_period_seconds=grace),
                     datetime.fromtimestamp(now, UTC))
            if p.remove:
                objects.delete("Pod", ns, name,
                               expect_resource_version=cur["metadata"]["resourceVersion"])
            elif p.updated is not None:
                objects.update(p.updated, old=cur)
        except errors.NotFound:
            return
    retry_on_conflict(attempt)
