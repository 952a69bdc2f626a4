"""Jobs (batch/v1): run pods until a number of them succeed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coxapi import defaults
from coxapi.meta import get_condition
from coxapi.timefmt import parse_time
from coxapi.validation import jobs
from coxapi.validation.common import Errors

from .columns import AGE, WORKLOAD_WIDE, Column, human_duration
from .kind import Kind
from .strategy import Strategy
from .workload import template_parts

Obj = dict[str, Any]
# The label every pod of a Job carries; the default selector matches it.
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def _status(o: Obj, now: datetime) -> str:
    for ctype in ("Complete", "Failed", "Suspended"):
        c = get_condition(o, ctype)
        if c and c.get("status") == "True":
            return ctype
    return "Running"


def _completions(o: Obj, now: datetime) -> str:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    succeeded = st.get("succeeded", 0) or 0
    if spec.get("completions") is not None:
        return f"{succeeded}/{spec['completions']}"
    return f"{succeeded}/1 of {spec.get('parallelism', 1)}"


def _duration(o: Obj, now: datetime) -> str:
    st = o.get("status") or {}
    start = parse_time(st.get("startTime"))
    if start is None:
        return ""
    end = parse_time(st.get("completionTime")) or now
    return human_duration((end - start).total_seconds())


class JobStrategy(Strategy):
    columns = (
        Column("STATUS", _status),
        Column("COMPLETIONS", _completions),
        Column("DURATION", _duration),
        AGE,
        *WORKLOAD_WIDE,
    )

    def defaults(self, obj: Obj) -> None:
        defaults.job(obj)
        select_own_pods(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        jobs.validate_job(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        jobs.job_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {}

    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        return template_parts(obj, "spec", "template")


def select_own_pods(job: Obj) -> None:
    """Kubernetes generates a Job's selector at create; here it is a default
    (so clients validating before they send agree): the job-name label, added
    to the template too. The controller also checks the pods' owner."""
    spec = job.get("spec")
    name = (job.get("metadata") or {}).get("name")
    if not isinstance(spec, dict) or spec.get("selector") or not isinstance(name, str):
        return
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return
    meta = tmpl.setdefault("metadata", {})
    if isinstance(meta, dict):
        labels = meta.get("labels")
        labels = labels if isinstance(labels, dict) else {}
        meta["labels"] = {**labels, JOB_NAME_LABEL: name, "job-name": name}
        spec["selector"] = {"matchLabels": {JOB_NAME_LABEL: name}}


KIND = Kind("Job", "jobs", "batch", "v1", True, (), ("status",), strategy=JobStrategy())
