"""CronJob controller: create a Job for each scheduled time; the decisions
are ``cronplan.decide`` (pure), this module reads the caches and writes:
deletions, then the Job (a name fixed by the scheduled time, so a second
attempt for one time finds it already there), then the status."""

from __future__ import annotations

import copy
import logging
from typing import Any

from coxapi import errors, kinds
from coxapi.meta import controller_ref

from ..admission.strategy import prepare_create
from .base import Context, Controller
from .cronplan import decide, job_ref
from .ownership import owned, owned_by

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_JOB = kinds.lookup("Job")


class CronJobController(Controller):
    name = "cronjob-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.cronjobs = ctx.informers["CronJob"]
        self.jobs = ctx.informers["Job"]
        self.cronjobs.add_handler(**self.handlers())
        self.jobs.add_handler(**self.handlers(self._job_changed))

    def _job_changed(self, job: Obj) -> None:
        ref = controller_ref(job)
        if ref and ref.get("kind") == "CronJob":
            self.queue.add(f"{job['metadata'].get('namespace')}/{ref.get('name', '')}")

    def reconcile(self, key: str) -> float | None:
        cj = self.cronjobs.get(key)
        if cj is None:
            return None
        jobs = [j for j in self.jobs.list(cj["metadata"].get("namespace")) if owned_by(j, cj)]
        plan = decide(cj, jobs, self.config.clock())
        for job in plan.delete:
            self._delete(cj, job)
        for kind, reason, message in plan.events:
            (self.events.normal if kind == "Normal" else self.events.warning)(cj, reason, message)
        status = plan.status
        if plan.create is not None:
            made = self._create(cj, plan.create)
            if made is None:
                return plan.requeue  # not ours: reported, the time is not recorded
            uid = made["metadata"].get("uid")
            if all(r.get("uid") != uid for r in status.get("active") or []):
                status["active"] = [*(status.get("active") or []), job_ref(made)]
        if status != (cj.get("status") or {}):
            new = copy.deepcopy(cj)
            new["status"] = status
            self.objects.update(new, old=cj)  # compare-and-swap: a stale copy retries
        return plan.requeue

    def _create(self, cj: Obj, job: Obj) -> Obj | None:
        """The Job for this time: created now, or the one an earlier attempt
        created (then None if some other object has its name)."""
        body = prepare_create(_JOB, owned(job, cj))  # the plan's Job: made for this
        ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            created = self.objects.create(body)
        except errors.AlreadyExists:
            existing = self.objects.get("Job", ns, name)
            if owned_by(existing, cj):
                return existing
            self.events.warning(cj, "FailedCreate",
                                f"Job {name} already exists and is not owned by this CronJob")
            return None
        self.events.normal(cj, "SuccessfulCreate", f"Created job {name}")
        return created

    def _delete(self, cj: Obj, job: Obj) -> None:
        """Delete a Job; the garbage collector then deletes its pods."""
        m = job["metadata"]
        try:
            self.objects.delete("Job", m.get("namespace"), m["name"],
                                expect_resource_version=m.get("resourceVersion"))
        except (errors.NotFound, errors.Conflict):
            return
        self.events.normal(cj, "SuccessfulDelete", f"Deleted job {m['name']}")
