"""Pure: what the CronJob controller does next for one CronJob, given the
Jobs it owns and the time (Kubernetes' cronjob_controllerv2).

- The time to run is the most recent scheduled time after
  ``lastScheduleTime`` (or the CronJob's creation) and not after now; older
  missed times are skipped, and with ``startingDeadlineSeconds`` a time
  older than that is not run at all. So a schedule missed while there was
  no leader runs once, when a leader returns, if still within the deadline.
- The Job's name is ``<cronjob>-<scheduled time in minutes>``, as in
  Kubernetes: creating it twice for one time fails with AlreadyExists, so a
  time never runs twice, whatever happened to ``lastScheduleTime``.
- ``concurrencyPolicy``: Forbid skips a time while a Job is active, Replace
  deletes the active Jobs first, Allow runs them side by side.
- Finished Jobs beyond ``successfulJobsHistoryLimit`` /
  ``failedJobsHistoryLimit`` are deleted, oldest first.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from coxapi import cronschedule, timefmt

from .jobplan import finished

Obj = dict[str, Any]
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"


@dataclass
class CronPlan:
    status: Obj
    create: Obj | None = None  # the Job to create (then record it in status)
    delete: list[Obj] = field(default_factory=list)  # Jobs to delete (history, Replace)
    requeue: float | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)


def job_name(cj: Obj, scheduled: float) -> str:
    return f"{cj['metadata']['name']}-{int(scheduled // 60)}"


def job_for(cj: Obj, scheduled: float) -> Obj:
    tmpl = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = tmpl.get("metadata") or {}
    meta: Obj = {"name": job_name(cj, scheduled),
                 "namespace": cj["metadata"].get("namespace", "default"),
                 "labels": dict(tmeta.get("labels") or {}),
                 "annotations": {**(tmeta.get("annotations") or {}),
                                 SCHEDULED_AT: timefmt.rfc3339(scheduled)}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
            "spec": copy.deepcopy(tmpl.get("spec") or {})}


def job_ref(job: Obj) -> Obj:
    m = job["metadata"]
    return {"apiVersion": "batch/v1", "kind": "Job", "name": m["name"],
            "namespace": m.get("namespace"), "uid": m.get("uid"),
            "resourceVersion": m.get("resourceVersion")}


def _finished_at(job: Obj) -> float:
    st = job.get("status") or {}
    for value in (st.get("completionTime"), st.get("startTime"),
                  job["metadata"].get("creationTimestamp")):
        t = timefmt.parse_epoch(value)
        if t is not None:
            return t
    return 0.0


def decide(cj: Obj, jobs: list[Obj], now: float) -> CronPlan:
    """``jobs``: those the CronJob controls (its controller reference)."""
    spec = cj.get("spec") or {}
    old = cj.get("status") or {}
    status = copy.deepcopy(old)
    plan = CronPlan(status)

    active = [j for j in jobs if not finished(j) and not j["metadata"].get("deletionTimestamp")]
    status["active"] = [job_ref(j) for j in sorted(active, key=lambda j: j["metadata"]["name"])]
    if not status["active"]:
        del status["active"]
    done = [j for j in jobs if finished(j)]
    good = [j for j in done if finished(j) == "Complete"]
    if good:
        last = max(_finished_at(j) for j in good)
        if last > (timefmt.parse_epoch(old.get("lastSuccessfulTime")) or 0):
            status["lastSuccessfulTime"] = timefmt.rfc3339(last)
    for kind, limit in (("Complete", spec.get("successfulJobsHistoryLimit", 3)),
                        ("Failed", spec.get("failedJobsHistoryLimit", 1))):
        these = sorted((j for j in done if finished(j) == kind), key=_finished_at)
        if limit is not None and len(these) > int(limit):
            plan.delete += these[:len(these) - int(limit)]

    if spec.get("suspend"):
        return plan
    schedule, tz = str(spec.get("schedule", "")), spec.get("timeZone")
    earliest = (timefmt.parse_epoch(old.get("lastScheduleTime"))
                or timefmt.parse_epoch(cj["metadata"].get("creationTimestamp")) or now)
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - int(deadline) - 1e-6)
    plan.requeue = max(0.0, cronschedule.next_after(schedule, tz, now) - now) + 0.01
    scheduled = cronschedule.latest(schedule, tz, earliest, now)
    if scheduled is None:
        return plan
    policy = spec.get("concurrencyPolicy", "Allow")
    if policy == "Forbid" and active:
        plan.events.append(("Normal", "JobAlreadyActive",
                            "Not starting job because prior execution is running and "
                            "concurrency policy is Forbid"))
        return plan  # retried when the active Job finishes (it wakes us) or at the next time
    if policy == "Replace":
        plan.delete += active
        status.pop("active", None)
    plan.create = job_for(cj, scheduled)
    status["lastScheduleTime"] = timefmt.rfc3339(scheduled)
    return plan
