"""Job controller: run a Job's pods until ``completions`` of them succeed
(or one per index, for an Indexed Job), within ``backoffLimit`` and
``activeDeadlineSeconds``; the decisions are ``jobplan.decide`` (pure), this
module reads the caches and writes in the order that makes counting exact:
status first, then finalizers, then deletions and creations.

Pods are the Job's by controller reference (created with it; orphans are
not adopted). A tracked pod whose Job is gone, is another Job of the same
name, or that no Job controls any more (orphaned) loses its finalizer so it
can go.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from coxapi import errors, kinds
from coxapi.defaults import apply_defaults
from coxapi.jsoncopy import json_copy
from coxapi.kinds.job import JOB_NAME_LABEL
from coxapi.meta import controller_ref, key_of

from ..admission import names, podsecurity
from ..admission.deletion import finished_finalizing
from . import parallel
from . import pods as podutil
from .base import Context, Controller, RetryLater
from .expectations import Expectations
from .jobplan import INDEX_ENV, INDEX_KEY, TRACKING, JobPlan, decide, tracked
from .ownership import owned
from .replicaset import raise_first

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_POD = kinds.lookup("Pod")
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
ORPHAN = "orphan:"  # queue keys of tracked pods that no Job controls any more
# An informer index: a pod under "<namespace>/<name>" of the Job that controls
# it, so a sync reads its Job's pods (and those a deleted Job of the same name
# left) without looking at every pod of the namespace (Kubernetes' job
# controller reads them through its controller-uid index too).
JOB_INDEX = "jobName"


def job_index(pod: Obj) -> list[str]:
    ref = controller_ref(pod)
    if not ref or ref.get("kind") != "Job":
        return []
    return [f"{pod['metadata'].get('namespace')}/{ref.get('name', '')}"]


def job_pod(job: Obj, index: int | None) -> Obj:
    """A new pod for ``job``: its template, the tracking finalizer, the
    Job's labels, and for an Indexed Job the completion index (annotation,
    label, ``JOB_COMPLETION_INDEX`` and a stable hostname)."""
    tmpl = (job.get("spec") or {}).get("template") or {}
    tmeta = tmpl.get("metadata") or {}
    name, ns = job["metadata"]["name"], job["metadata"].get("namespace", "default")
    prefix = f"{name}-" if index is None else f"{name}-{index}-"
    meta: Obj = {"name": names.generate(prefix), "generateName": prefix, "namespace": ns,
                 "labels": {**(tmeta.get("labels") or {}), JOB_NAME_LABEL: name,
                            "job-name": name, CONTROLLER_UID: job["metadata"].get("uid", "")},
                 "annotations": dict(tmeta.get("annotations") or {}),
                 "finalizers": [TRACKING]}
    spec = json_copy(tmpl.get("spec") or {})
    if index is not None:
        meta["annotations"][INDEX_KEY] = str(index)
        meta["labels"][INDEX_KEY] = str(index)
        spec.setdefault("hostname", f"{name}-{index}")
        ref = {"fieldRef": {"fieldPath": f"metadata.annotations['{INDEX_KEY}']"}}
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            env = [e for e in c.get("env") or [] if e.get("name") != INDEX_ENV]
            c["env"] = [*env, {"name": INDEX_ENV, "valueFrom": ref}]
    if not meta["annotations"]:
        del meta["annotations"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec,
           "status": {"phase": "Pending"}}
    return apply_defaults(owned(pod, job))


class JobController(Controller):
    name = "job-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.expectations = Expectations(clock=self.config.monotonic)
        self.jobs = ctx.informers["Job"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index(JOB_INDEX, job_index)
        self.jobs.add_handler(**self.handlers())
        self.pods.add_handler(self._pod_added, lambda old, new: self._pod_changed(new),
                              self._pod_changed)

    def _owner_key(self, pod: Obj) -> str | None:
        keys = job_index(pod)
        return keys[0] if keys else None

    def _pod_added(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
        self._pod_changed(pod)

    def _pod_changed(self, pod: Obj) -> None:
        key = self._owner_key(pod)
        if key:
            self.queue.add(key)
        elif tracked(pod):  # orphaned (its Job deleted with propagation Orphan)
            self.queue.add(f"{ORPHAN}{pod['metadata'].get('namespace')}/{pod['metadata']['name']}")

    def _owned(self, ns: str, name: str) -> list[Obj]:
        return self.pods.by_index(JOB_INDEX, f"{ns}/{name}")

    def reconcile(self, key: str) -> float | None:
        if key.startswith(ORPHAN):
            pod = self.pods.get(key[len(ORPHAN):])
            if pod is not None and tracked(pod) and self._owner_key(pod) is None:
                self._untrack(pod)
            return None
        ns, _, name = key.partition("/")
        # The expectations before the pods (Kubernetes' order): once they are met,
        # a list taken after holds every pod created. Checked after the list (and
        # the status write between), the last pod could be observed in between
        # and another created for it, on a list that lacks it.
        satisfied = self.expectations.satisfied(key)
        job = self.jobs.get(key)
        pods = self._owned(ns, name)
        uid = job["metadata"].get("uid") if job else None
        strays = [p for p in pods if tracked(p) and (controller_ref(p) or {}).get("uid") != uid]
        for pod in strays:  # their Job is gone: nothing left to count them for
            self._untrack(pod)
        if job is None:
            self.expectations.forget(key)
            return None
        mine = [p for p in pods if (controller_ref(p) or {}).get("uid") == uid]
        plan = decide(job, mine, self.config.clock())
        self._write_status(job, plan)
        raise_first(parallel.each(self._untrack, plan.untrack))
        for pod in plan.delete:
            self._untrack(pod)
            podutil.delete_pod(self.objects, pod, self.config.clock())
            self.events.normal(job, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}")
        for kind, reason, message in plan.events:
            (self.events.normal if kind == "Normal" else self.events.warning)(job, reason, message)
        if plan.delete_job:
            self._delete_job(job)
            return None
        if plan.create:
            if not satisfied:
                return plan.requeue
            failure = self._create(job, key, plan.create)
            if failure:
                raise RetryLater(failure)
        return plan.requeue

    def _write_status(self, job: Obj, plan: JobPlan) -> None:
        """Compare-and-swap on the cached Job: a stale copy gets Conflict and
        is retried from the newer one, never written over it."""
        if plan.status == (job.get("status") or {}):
            return
        new = copy.deepcopy(job)
        new["status"] = plan.status
        self.objects.update(new, old=job)

    def _untrack(self, pod: Obj) -> None:
        uid = pod["metadata"].get("uid")

        def drop(cur: Obj) -> Obj | None:
            fins = cur["metadata"].get("finalizers") or []
            if cur["metadata"].get("uid") != uid or TRACKING not in fins:
                return None
            rest = [f for f in fins if f != TRACKING]
            if rest:
                cur["metadata"]["finalizers"] = rest
            else:
                cur["metadata"].pop("finalizers", None)
            return cur
        try:
            cur = self.objects.guaranteed_update("Pod", pod["metadata"].get("namespace"),
                                                 pod["metadata"]["name"], drop)
        except errors.NotFound:
            return
        if cur["metadata"].get("uid") == uid and finished_finalizing(_POD, cur):
            # the API removes it on the update that clears the last finalizer
            try:
                self.objects.delete("Pod", cur["metadata"].get("namespace"),
                                    cur["metadata"]["name"],
                                    expect_resource_version=cur["metadata"]["resourceVersion"])
            except (errors.NotFound, errors.Conflict):
                pass

    def _create(self, job: Obj, key: str, indexes: list[int | None]) -> str | None:
        self.expectations.expect_creations(key, len(indexes))
        outcomes = parallel.each(lambda i: self._create_pod(job, i), indexes)
        failures = [e for e in outcomes if e is not None]
        for _ in failures:
            self.expectations.creation_observed(key)
        raise_first([e for e in failures if not isinstance(e, errors.ApiError)])
        return str(failures[0]) if failures else None

    def _create_pod(self, job: Obj, index: int | None) -> None:
        for _ in range(5):
            try:
                pod = self.objects.create(podsecurity.admitted_pod(self.objects, job_pod(job, index)))
                break
            except errors.AlreadyExists:
                continue  # a random-name collision: draw again
            except errors.ApiError as e:
                self.events.warning(job, "FailedCreate", f"Error creating: {e}")
                raise
        else:
            raise errors.AlreadyExists("could not find a free pod name")
        self.events.normal(job, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

    def _delete_job(self, job: Obj) -> None:
        """ttlSecondsAfterFinished: delete the Job; the garbage collector
        deletes its pods (they lost their finalizers when counted)."""
        m = job["metadata"]
        try:
            self.objects.delete("Job", m.get("namespace"), m["name"],
                                expect_resource_version=m["resourceVersion"])
        except (errors.NotFound, errors.Conflict):
            return
        log.info("job-controller: deleted finished job %s (ttlSecondsAfterFinished)", key_of(job))
