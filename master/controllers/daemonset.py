"""DaemonSet controller: one pod per eligible node, following nodes as they
join and leave, rolled to a new template with ``maxUnavailable``; the
decisions are ``daemonplan.decide`` (pure), this module reads the caches
and writes. Pods are the DaemonSet's by controller reference."""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors
from coxapi.defaults import apply_defaults
from coxapi.meta import controller_ref, is_terminating, key_of

from ..admission import names, podsecurity
from . import parallel
from . import pods as podutil
from .base import Context, Controller, RetryLater
from .daemonplan import HASH_LABEL, decide, pinned_to, pod_spec, template_hash
from .expectations import Expectations
from .ownership import CONTROLLER_INDEX, controlled, controller_index, owned
from .replicaset import raise_first

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def daemon_pod(ds: Obj, node: str) -> Obj:
    tmpl = (ds.get("spec") or {}).get("template") or {}
    tmeta = tmpl.get("metadata") or {}
    name = ds["metadata"]["name"]
    meta: Obj = {"name": names.generate(f"{name}-"), "generateName": f"{name}-",
                 "namespace": ds["metadata"].get("namespace", "default"),
                 "labels": {**(tmeta.get("labels") or {}), HASH_LABEL: template_hash(ds)}}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
           "spec": pinned_to(pod_spec(ds), node), "status": {"phase": "Pending"}}
    return apply_defaults(owned(pod, ds))


class DaemonSetController(Controller):
    name = "daemonset-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(clock=self.config.monotonic)
        self.sets = ctx.informers["DaemonSet"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index(CONTROLLER_INDEX, controller_index)
        self.nodes = ctx.informers["Node"]
        self.sets.add_handler(**self.handlers())
        self.pods.add_handler(self._pod_added, lambda old, new: self._pod_changed(new),
                              lambda pod: self._pod_changed(pod, gone=True))
        self.nodes.add_handler(**self.handlers(lambda _node: self._all()))

    def _all(self) -> None:
        for ds in self.sets.list():
            self.enqueue(ds)

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if not ref or ref.get("kind") != "DaemonSet":
            return None
        return f"{pod['metadata'].get('namespace')}/{ref.get('name', '')}"

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
            self.queue.add(key)

    def _pod_changed(self, pod: Obj, gone: bool = False) -> None:
        key = self._owner_key(pod)
        if key:
            if gone or is_terminating(pod):
                self.expectations.deletion_observed(key, key_of(pod))
            self.queue.add(key)

    def reconcile(self, key: str) -> float | None:
        ds = self.sets.get(key)
        if ds is None:
            self.expectations.forget(key)
            return None
        satisfied = self.expectations.satisfied(key)  # before the pods (see job.py)
        pods = controlled(self.pods, ds)
        now = self.config.clock()
        plan = decide(ds, self.nodes.list(), pods, now)
        failure = None
        if not satisfied:
            pass  # the cache has not seen our last writes yet: they wake us
        elif plan.delete:  # creations wait for the next pass, when these are seen
            self.expectations.expect_deletions(key, [key_of(p) for p in plan.delete])
            outcomes = parallel.each(lambda p: podutil.delete_pod(self.objects, p, now),
                                     plan.delete)
            for pod, failed in zip(plan.delete, outcomes, strict=True):
                if failed is None:
                    self.events.normal(ds, "SuccessfulDelete",
                                       f"Deleted pod: {pod['metadata']['name']}")
                else:
                    self.expectations.deletion_observed(key, key_of(pod))
            raise_first(outcomes)
        else:
            failure = self._create(ds, key, plan.create)
        self._write_status(ds, plan.status)
        if failure:
            raise RetryLater(failure)
        return plan.requeue

    def _create(self, ds: Obj, key: str, nodes: list[str]) -> str | None:
        if not nodes:
            return None
        self.expectations.expect_creations(key, len(nodes))
        outcomes = parallel.each(lambda n: self._create_pod(ds, n), nodes)
        failures = [e for e in outcomes if e is not None]
        for _ in failures:
            self.expectations.creation_observed(key)
        raise_first([e for e in failures if not isinstance(e, errors.ApiError)])
        return str(failures[0]) if failures else None

    def _create_pod(self, ds: Obj, node: str) -> None:
        for _ in range(5):
            try:
                pod = self.objects.create(podsecurity.admitted_pod(self.objects, daemon_pod(ds, node)))
                break
            except errors.AlreadyExists:
                continue  # a random-name collision: draw again
            except errors.ApiError as e:
                self.events.warning(ds, "FailedCreate", f"Error creating: {e}")
                raise
        else:
            raise errors.AlreadyExists("could not find a free pod name")
        self.events.normal(ds, "SuccessfulCreate",
                           f"Created pod: {pod['metadata']['name']} for node {node}")

    def _write_status(self, ds: Obj, status: Obj) -> None:
        old = ds.get("status") or {}
        if all(old.get(k) == v for k, v in status.items()):
            return
        uid = ds["metadata"].get("uid")

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            cur.setdefault("status", {}).update(status)
            return cur
        self.objects.guaranteed_update("DaemonSet", ds["metadata"].get("namespace"),
                                       ds["metadata"]["name"], write)
