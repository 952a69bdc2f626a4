"""CronJobs (batch/v1): create Jobs on a cron schedule."""

from __future__ import annotations

from typing import Any

from coxapi import cronschedule, defaults
from coxapi.validation import jobs
from coxapi.validation.common import Errors

from .columns import AGE, NONE, Column, age
from .kind import Kind
from .strategy import Strategy
from .workload import template_parts

Obj = dict[str, Any]


def _tmpl_containers(o: Obj) -> list:
    return ((((o.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {})
            .get("template") or {}).get("spec", {}).get("containers") or []


class CronJobStrategy(Strategy):
    columns = (
        Column("SCHEDULE", ".spec.schedule"),
        Column("TIMEZONE", ".spec.timeZone", 0, NONE),
        Column("SUSPEND", lambda o, now: str(bool((o.get("spec") or {}).get("suspend")))),
        Column("ACTIVE", lambda o, now: str(len((o.get("status") or {}).get("active") or []))),
        Column("LAST SCHEDULE", lambda o, now: age(
            (o.get("status") or {}).get("lastScheduleTime"), now)
            if (o.get("status") or {}).get("lastScheduleTime") else NONE),
        AGE,
        Column("CONTAINERS", lambda o, now: ",".join(
            c.get("name", "") for c in _tmpl_containers(o)) or NONE, 1),
        Column("IMAGES", lambda o, now: ",".join(
            c.get("image", "") for c in _tmpl_containers(o)) or NONE, 1),
    )

    def defaults(self, obj: Obj) -> None:
        defaults.cron_job(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        jobs.validate_cron_job(errs, obj, cronschedule.problem)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}

    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        return template_parts(obj, "spec", "jobTemplate", "spec", "template")


KIND = Kind("CronJob", "cronjobs", "batch", "v1", True, ("cj",), ("status",),
            strategy=CronJobStrategy())
