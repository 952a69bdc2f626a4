"""The leader-only scheduling loop around the pure ``schedule``.

- Pending pods (no ``spec.nodeName``, ours by ``schedulerName``) are queued
  by key; one thread schedules them one at a time against the snapshot.
- A chosen node is *assumed* at once: the pod is counted on it in the
  snapshot before the binding commits, so a burst of pods cannot overcommit
  a node while the informer has not yet seen the bindings (kube-scheduler's
  assume cache). A failed binding un-assumes the pod and requeues it.
- Binding is a compare-and-swap on the pod's resourceVersion that also sets
  ``PodScheduled=True``, done by a small pool of binder threads; a pod that
  some other writer bound meanwhile is never bound twice.
- A pod that fits nowhere gets ``PodScheduled=False/Unschedulable`` and a
  ``FailedScheduling`` event, and waits: it is retried when a node or a
  bound pod changes, and on a back-off timer.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from coxapi import errors
from coxapi.jsoncopy import json_copy
from coxapi.meta import get_condition, is_terminating, key_of
from coxapi.retry import retry_on_conflict, starting_with
from coxapi.timefmt import rfc3339

from ..controllers.base import Context
from ..metrics import SCHEDULE_ATTEMPTS, SCHEDULE_SECONDS
from ..workqueue import WorkQueue
from .core import Binding, schedule
from .filters import DEFAULT_FILTERS
from .resources import pod_is_terminated
from .snapshot import Snapshot
from .volumes import VolumeBinding

log = logging.getLogger(__name__)

Obj = dict[str, Any]
COMPONENT = "default-scheduler"


def _node_signature(node: Obj) -> tuple:
    """What about a node can change a scheduling decision (heartbeats can't)."""
    spec, status = node.get("spec") or {}, node.get("status") or {}
    ready = get_condition(node, "Ready")
    return (repr(node.get("metadata", {}).get("labels")), repr(spec.get("taints")),
            bool(spec.get("unschedulable")), repr(status.get("allocatable")),
            ready.get("status") if ready else None)


class Scheduler:
    name = "scheduler"

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.objects = ctx.objects
        self.config = ctx.config
        self.events = ctx.recorder(COMPONENT)
        self.queue = WorkQueue()
        self.rng = random.Random(self.config.seed) if self.config.seed is not None else None
        self._lock = threading.RLock()
        self.snapshot = Snapshot()
        self._assumed: dict[str, str] = {}  # pod key -> node, bound by us, not yet observed
        self._waiting: dict[str, int] = {}  # unschedulable pod key -> attempts
        self._binder: ThreadPoolExecutor | None = None
        self.pods = ctx.informers["Pod"]
        self.nodes = ctx.informers["Node"]
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handler(self._node_added, self._node_updated, self._node_deleted)
        self.volume_binding = VolumeBinding(
            ctx.objects, ctx.informers["PersistentVolumeClaim"],
            ctx.informers["PersistentVolume"], ctx.informers["StorageClass"], self._retry_locked)
        self.filters = (*DEFAULT_FILTERS, self.volume_binding.filter)

    # ---- informer handlers: keep the snapshot, enqueue pending pods --------

    def _ours(self, pod: Obj) -> bool:
        name = (pod.get("spec") or {}).get("schedulerName")
        return name in (None, "", self.config.scheduler_name)

    def _pending(self, pod: Obj) -> bool:
        return (not (pod.get("spec") or {}).get("nodeName") and not is_terminating(pod)
                and not pod_is_terminated(pod) and self._ours(pod))

    def _pod_added(self, pod: Obj) -> None:
        key = key_of(pod)
        with self._lock:
            if (pod.get("spec") or {}).get("nodeName"):
                self._assumed.pop(key, None)
                self.snapshot.set_pod(pod)
                return
        if self._pending(pod):
            self.queue.add(key)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        key = key_of(new)
        with self._lock:
            if (new.get("spec") or {}).get("nodeName"):
                self._assumed.pop(key, None)
                was = self.snapshot.node_of(key)
                self.snapshot.set_pod(new)
                if was and self.snapshot.node_of(key) is None:  # it finished: room freed
                    self._retry_waiting()
                return
            if key in self._assumed:
                return  # our binding is in flight; the informer is behind
        # Our own status writes on a pending pod must not loop it back in.
        if self._pending(new) and (old.get("spec") != new.get("spec")
                                   or key not in self._waiting):
            self.queue.add(key)

    def _pod_deleted(self, pod: Obj) -> None:
        key = key_of(pod)
        with self._lock:
            self._assumed.pop(key, None)
            self._waiting.pop(key, None)
            bound = self.snapshot.node_of(key) is not None
            self.snapshot.remove_pod(key)
            if bound:
                self._retry_waiting()

    def _node_added(self, node: Obj) -> None:
        with self._lock:
            self.snapshot.set_node(node)
            self._retry_waiting()

    def _node_updated(self, old: Obj, new: Obj) -> None:
        with self._lock:
            self.snapshot.set_node(new)
            if _node_signature(old) != _node_signature(new):
                self._retry_waiting()

    def _node_deleted(self, node: Obj) -> None:
        with self._lock:
            self.snapshot.remove_node(node.get("metadata", {}).get("name", ""))

    def _retry_locked(self) -> None:
        with self._lock:
            self._retry_waiting()

    def _retry_waiting(self) -> None:
        for key in list(self._waiting):
            self.queue.add(key)

    # ---- scheduling -----------------------------------------------------------

    def schedule_one(self, key: str) -> Binding | None:
        """Decide for one pending pod and start its binding. Returns the
        binding started (the commit may still fail), else None."""
        pod = self.pods.get(key)
        if pod is None or not self._pending(pod):
            with self._lock:
                self._waiting.pop(key, None)
            return None
        with self._lock:
            if key in self._assumed:
                return None
            with SCHEDULE_SECONDS.time():
                result = schedule(pod, self.snapshot, self.rng, self.filters)
            SCHEDULE_ATTEMPTS.labels("scheduled" if isinstance(result, Binding)
                                     else "unschedulable").inc()
            if isinstance(result, Binding):
                assumed = json_copy(pod)
                assumed.setdefault("spec", {})["nodeName"] = result.node
                self.snapshot.set_pod(assumed)
                self._assumed[key] = result.node
                self._waiting.pop(key, None)
        if isinstance(result, Binding):
            if self._binder is not None:
                self._binder.submit(self._bind_quietly, pod, result.node)
            else:
                self._bind_quietly(pod, result.node)
            return result
        self._unschedulable(pod, result.message)
        return None

    def _unschedulable(self, pod: Obj, message: str) -> None:
        key = key_of(pod)
        with self._lock:
            attempts = self._waiting.get(key, 0)
            self._waiting[key] = attempts + 1
        delay = min(self.config.scheduler_backoff_max,
                    self.config.scheduler_backoff_initial * 2 ** min(attempts, 20))
        self.queue.add_after(key, delay)
        self.events.warning(pod, "FailedScheduling", message)
        cond = get_condition(pod, "PodScheduled")
        if cond and (cond.get("status"), cond.get("reason"), cond.get("message")) == \
                ("False", "Unschedulable", message):
            return
        uid = pod.get("metadata", {}).get("uid")

        def mark(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid or (cur.get("spec") or {}).get("nodeName"):
                return None
            self._set_condition(cur, "False", "Unschedulable", message)
            return cur
        try:
            self.objects.guaranteed_update("Pod", pod["metadata"].get("namespace"),
                                           pod["metadata"]["name"], mark)
        except errors.NotFound:
            pass
        except errors.ApiError as e:
            log.info("scheduler: could not mark %s unschedulable: %s", key, e)

    def _set_condition(self, pod: Obj, status: str, reason: str, message: str) -> None:
        conds = pod.setdefault("status", {}).setdefault("conditions", [])
        now = rfc3339(self.config.clock())
        for c in conds:
            if c.get("type") == "PodScheduled":
                if c.get("status") != status:
                    c["lastTransitionTime"] = now
                c.update(status=status, reason=reason, message=message, lastProbeTime=None)
                if not reason:
                    c.pop("reason")
                if not message:
                    c.pop("message")
                return
        cond = {"type": "PodScheduled", "status": status, "lastProbeTime": None,
                "lastTransitionTime": now}
        if reason:
            cond["reason"] = reason
        if message:
            cond["message"] = message
        conds.append(cond)

    def bind(self, pod: Obj, node: str) -> bool:
        """Commit ``spec.nodeName`` by CAS on the pod's resourceVersion. Lost
        races to a status write are retried while the pod stays unbound (the
        last Conflict is raised if they outlast the retries); a pod someone
        else bound (or recreated) is left alone."""
        ns, name = pod["metadata"].get("namespace"), pod["metadata"]["name"]
        uid = pod["metadata"].get("uid")
        current = starting_with(pod, lambda: self.objects.get("Pod", ns, name))
        self.volume_binding.select_node(pod, node)

        def attempt() -> bool:
            cur = current()
            if cur["metadata"].get("uid") != uid or (cur.get("spec") or {}).get("nodeName") \
                    or is_terminating(cur):
                return False
            new = json_copy(cur)
            new.setdefault("spec", {})["nodeName"] = node
            self._set_condition(new, "True", "", "")
            self.objects.update(new, old=cur)
            return True
        return retry_on_conflict(attempt)

    def _bind_quietly(self, pod: Obj, node: str) -> None:
        key = key_of(pod)
        try:
            ok = self.bind(pod, node)
        except errors.NotFound:
            ok = False
        except Exception as e:  # noqa: BLE001 - un-assume and retry later
            log.warning("scheduler: binding %s to %s failed: %s", key, node, e)
            self._forget(key)
            self.queue.add_rate_limited(key)
            return
        if not ok:
            self._forget(key)
            self.queue.add(key)  # re-examined; a pod bound elsewhere is then skipped
            return
        self.queue.forget(key)
        ns = pod["metadata"].get("namespace")
        self.events.normal(pod, "Scheduled",
                           f"Successfully assigned {ns}/{pod['metadata']['name']} to {node}")

    def _forget(self, key: str) -> None:
        with self._lock:
            if self._assumed.pop(key, None) is not None:
                self.snapshot.remove_pod(key)
                cached = self.pods.get(key)
                if cached is not None:
                    self.snapshot.set_pod(cached)

    # ---- threads --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        self._binder = ThreadPoolExecutor(self.config.scheduler_bind_workers,
                                          thread_name_prefix="binder")
        try:
            self.queue.work(self._schedule_or_retry, stop)
        finally:
            self._binder.shutdown(wait=False, cancel_futures=True)

    def _schedule_or_retry(self, key: str) -> None:
        try:
            self.schedule_one(key)
        except Exception:  # noqa: BLE001 - the loop never dies
            SCHEDULE_ATTEMPTS.labels("error").inc()
            log.exception("scheduler: scheduling %s failed", key)
            self._forget(key)
            self.queue.add_rate_limited(key)

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        return {"scheduler": self.run}

    def drain(self, rounds: int = 100000) -> int:
        """Schedule every queued pod now, binding synchronously (tests)."""
        return self.queue.drain(self.schedule_one, rounds)
