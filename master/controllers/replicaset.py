"""ReplicaSet controller: keep exactly ``spec.replicas`` active pods that
match the selector, and report status.

- Pods are claimed like Kubernetes' ControllerRefManager: matching orphans
  are adopted, owned pods whose labels stopped matching are released.
- Finished (Succeeded/Failed) and terminating pods do not count, so a
  failed or deleted pod is replaced.
- Expectations make sure creations/deletions issued once are observed by
  the informer before the controller acts on that ReplicaSet again.
- Scale-down deletes the least valuable pods first: unscheduled, then
  pending, then not ready, then the most recently ready/created.
"""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors, kinds, labels, timefmt
from coxapi.defaults import apply_defaults
from coxapi.jsoncopy import json_copy
from coxapi.meta import controller_ref, is_terminating, key_of

from ..admission import names, podsecurity
from . import parallel
from . import pods as podutil
from .base import Context, Controller, RetryLater
from .expectations import Expectations
from .ownership import CONTROLLER_INDEX, candidates, claim, controller_index, owned

log = logging.getLogger(__name__)
_POD = kinds.lookup("pods")

Obj = dict[str, Any]
BURST = 500  # Kubernetes' burstReplicas


def pod_from_template(rs: Obj) -> Obj:
    """A new pod for ``rs``: the template's labels, annotations and spec, a
    generateName-style name and a controller reference."""
    tmpl = (rs.get("spec") or {}).get("template") or {}
    tmeta = tmpl.get("metadata") or {}
    name = rs["metadata"]["name"]
    meta: Obj = {"name": names.generate(f"{name}-"), "generateName": f"{name}-",
                 "namespace": rs["metadata"].get("namespace", "default"),
                 "labels": dict(tmeta.get("labels") or {})}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
           "spec": json_copy(tmpl.get("spec") or {}), "status": {"phase": "Pending"}}
    return apply_defaults(owned(pod, rs))


def deletion_rank(pod: Obj) -> tuple:
    """Sort key: pods to delete first sort first (Kubernetes' ActivePods order)."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(status.get("phase", ""), 0)
    ready = podutil.is_ready(pod)
    ready_at = podutil.ready_since(pod) or 0.0
    created = timefmt.parse_epoch(pod["metadata"].get("creationTimestamp")) or 0.0
    return (bool(spec.get("nodeName")), phase_rank, ready,
            -ready_at if ready else 0.0, -created, pod["metadata"].get("name", ""))


def raise_first(outcomes: list[BaseException | None]) -> None:
    for e in outcomes:
        if e is not None:
            raise e


def rs_selector(rs: Obj) -> labels.Selector:
    sel = labels.from_label_selector((rs.get("spec") or {}).get("selector"))
    if not sel:
        raise labels.SelectorError("empty selector matches every pod")
    return sel


class ReplicaSetController(Controller):
    name = "replicaset-controller"
    throttled = True  # each sync counts all of the set's pods

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(clock=self.config.monotonic)
        self.sets = ctx.informers["ReplicaSet"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index(CONTROLLER_INDEX, controller_index)
        self.sets.add_handler(**self.handlers())
        self.pods.add_handler(self._pod_added, self._pod_updated, self._pod_deleted)

    # ---- pod events -> the ReplicaSets they concern -----------------------

    def _owner_key(self, pod: Obj) -> str | None:
        ref = controller_ref(pod)
        if not ref or ref.get("kind") != "ReplicaSet":
            return None
        ns = pod["metadata"].get("namespace")
        rs = self.sets.get_by(ns, ref.get("name", ""))
        if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
            return None
        return key_of(rs)

    def _matching_sets(self, pod: Obj) -> list[str]:
        out = []
        for rs in self.sets.list(pod["metadata"].get("namespace")):
            try:
                if labels.matches(rs_selector(rs), pod["metadata"].get("labels")):
                    out.append(key_of(rs))
            except labels.SelectorError:
                continue
        return out

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
            self.queue.add(key)
        elif controller_ref(pod) is None:
            for k in self._matching_sets(pod):
                self.queue.add(k)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        old_key, new_key = self._owner_key(old), self._owner_key(new)
        if new_key and is_terminating(new) and not is_terminating(old):
            # a graceful delete shows up as an update: that is the deletion
            self.expectations.deletion_observed(new_key, key_of(new))
        if old_key and old_key != new_key:
            self.queue.add(old_key)
        if new_key:
            self.queue.add(new_key)
        if controller_ref(new) is None or \
                old["metadata"].get("labels") != new["metadata"].get("labels"):
            for k in self._matching_sets(new):
                self.queue.add(k)

    def _pod_deleted(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.deletion_observed(key, key_of(pod))
            self.queue.add(key)

    # ---- reconcile ----------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        rs = self.sets.get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        try:
            selector = rs_selector(rs)
        except labels.SelectorError as e:
            self.events.warning(rs, "InvalidSelector", f"invalid selector: {e}")
            return None
        # the expectations before the pods (as the Job controller: see there)
        satisfied = self.expectations.satisfied(key)
        active = self.claim(rs, selector,
                            [p for p in candidates(self.pods, rs) if podutil.is_active(p)])
        if not satisfied or is_terminating(rs):
            return self.update_status(rs, active, managed=False)
        failure = self.manage(rs, key, active)
        after = self.update_status(rs, active, managed=True, failure=failure)
        if failure:
            raise RetryLater(failure)  # retried with back-off
        return after

    def claim(self, rs: Obj, selector: labels.Selector, candidates: list[Obj]) -> list[Obj]:
        def released(pod: Obj) -> None:
            self.events.normal(rs, "ReleasedPod",
                               f"Released pod {pod['metadata']['name']}: labels no longer match")
        return claim(self.objects, "Pod", rs, selector, candidates, released)

    def manage(self, rs: Obj, key: str, active: list[Obj]) -> str | None:
        """Create or delete pods toward spec.replicas, each batch in parallel;
        returns why creating failed, if it did."""
        want = max(0, int((rs.get("spec") or {}).get("replicas", 1) or 0))
        diff = len(active) - want
        if diff < 0:
            return self._slow_start(rs, key, min(-diff, BURST))
        if diff > 0:
            victims = sorted(active, key=deletion_rank)[:min(diff, BURST)]
            self.expectations.expect_deletions(key, [key_of(p) for p in victims])
            outcomes = parallel.each(lambda pod: self._delete_pod(rs, pod), victims)
            for pod, failed in zip(victims, outcomes, strict=True):
                if failed is not None:  # never happened: nothing to wait for
                    self.expectations.deletion_observed(key, key_of(pod))
            raise_first(outcomes)
        return None

    def _slow_start(self, rs: Obj, key: str, n: int) -> str | None:
        """Create ``n`` pods in batches of 1, 2, 4, ... (Kubernetes' slow start),
        each batch's creations in parallel: a failing create (quota, invalid
        template, no quorum) stops after a few attempts instead of n. Returns
        the API error that stopped it, if any; expectations are lowered for
        every creation that did not happen."""
        self.expectations.expect_creations(key, n)
        issued, batch = 0, 1
        try:
            while issued < n:
                size = min(batch, n - issued)
                outcomes = parallel.each(lambda _: self._create_pod(rs), range(size))
                issued += size
                failures = [e for e in outcomes if e is not None]
                for _ in failures:  # never created: nothing to wait for
                    self.expectations.creation_observed(key)
                raise_first([e for e in failures if not isinstance(e, errors.ApiError)])
                if failures:
                    return str(failures[0])
                batch *= 2
            return None
        finally:
            for _ in range(n - issued):  # never issued
                self.expectations.creation_observed(key)

    def _delete_pod(self, rs: Obj, pod: Obj) -> None:
        podutil.delete_pod(self.objects, pod, self.config.clock())
        self.events.normal(rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")

    def _create_pod(self, rs: Obj) -> None:
        try:
            pod = self._create_named(rs)
        except errors.ApiError as e:
            self.events.warning(rs, "FailedCreate", f"Error creating: {e}")
            raise
        self.events.normal(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

    def _create_named(self, rs: Obj) -> Obj:
        for _ in range(5):
            pod = pod_from_template(rs)
            # Pod Security admission applies to the pods a controller makes too
            podsecurity.admit(self.objects, _POD, pod)
            try:
                return self.objects.create(pod)
            except errors.AlreadyExists:
                continue  # a random-name collision: draw again
        raise errors.AlreadyExists("could not find a free pod name")

    def update_status(self, rs: Obj, active: list[Obj], managed: bool = False,
                      failure: str | None = None) -> float | None:
        """Write status (counts, observedGeneration, the ReplicaFailure
        condition while pods cannot be created) if it changed; returns when
        to look again for a pod that becomes available by minReadySeconds."""
        spec = rs.get("spec") or {}
        min_ready = float(spec.get("minReadySeconds") or 0)
        now = self.config.clock()
        tmpl_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        ready = available = labelled = 0
        recheck: float | None = None
        wanted = tmpl_labels.items()
        for pod in active:  # one walk: a set may have thousands
            wait = podutil.available_in(pod, min_ready, now)  # None: not ready (all are active)
            if wait is not None:
                ready += 1
                if wait == 0:
                    available += 1
                else:
                    recheck = wait if recheck is None else min(recheck, wait)
            if wanted <= (pod["metadata"].get("labels") or {}).items():
                labelled += 1
        status = {
            "replicas": len(active),
            "fullyLabeledReplicas": labelled,
            "readyReplicas": ready,
            "availableReplicas": available,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        old = rs.get("status") or {}
        conds = [c for c in old.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        if failure:
            prev: Obj = next((c for c in old.get("conditions") or []
                         if c.get("type") == "ReplicaFailure"), {})
            conds.append({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                          "message": failure,
                          "lastTransitionTime": prev.get("lastTransitionTime")
                          or timefmt.rfc3339(now)})
        if failure or managed:
            status["conditions"] = conds
        if any(old.get(k, [] if k == "conditions" else None) != v for k, v in status.items()):
            uid = rs["metadata"].get("uid")

            def write(cur: Obj) -> Obj | None:
                if cur["metadata"].get("uid") != uid:
                    return None
                cur.setdefault("status", {}).update(status)
                return cur
            self.objects.guaranteed_update("ReplicaSet", rs["metadata"].get("namespace"),
                                           rs["metadata"]["name"], write)
        return recheck + 0.01 if recheck is not None else None
