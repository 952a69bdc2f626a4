"""Validation of Jobs and CronJobs (batch/v1)."""

from __future__ import annotations

from typing import Any

from .common import REQUIRED, Errors, is_int, is_str, nonneg_int, object_list, one_of
from .workloads import validate_workload

Obj = dict[str, Any]

COMPLETION_MODES = ("NonIndexed", "Indexed")
FAILURE_ACTIONS = ("FailJob", "Ignore", "Count")
EXIT_CODE_OPERATORS = ("In", "NotIn")
CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
REPLACEMENT_POLICIES = ("TerminatingOrFailed", "Failed")


def validate_job(errs: Errors, obj: Obj) -> None:
    validate_workload(errs, obj, ("OnFailure", "Never"))
    spec = obj.get("spec")
    if isinstance(spec, dict):
        validate_job_spec(errs, "spec", spec)


def validate_job_spec(errs: Errors, field: str, spec: Obj) -> None:
    for name in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished"):
        nonneg_int(errs, f"{field}.{name}", spec.get(name))
    nonneg_int(errs, f"{field}.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"), 1)
    one_of(errs, f"{field}.completionMode", spec.get("completionMode", "NonIndexed"),
           COMPLETION_MODES)
    one_of(errs, f"{field}.podReplacementPolicy",
           spec.get("podReplacementPolicy", "TerminatingOrFailed"), REPLACEMENT_POLICIES)
    if spec.get("completionMode") == "Indexed" and spec.get("completions") is None:
        errs.add(f"{field}.completions", "Required value: when completion mode is Indexed")
    if not isinstance(spec.get("suspend", False), bool):
        errs.add(f"{field}.suspend", "must be a boolean")
    policy = spec.get("podFailurePolicy")
    if policy is not None:
        _pod_failure_policy(errs, f"{field}.podFailurePolicy", policy, spec)


def _pod_failure_policy(errs: Errors, field: str, policy: Any, spec: Obj) -> None:
    if not isinstance(policy, dict):
        errs.add(field, "must be an object")
        return
    rp = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if rp != "Never":
        errs.add("spec.template.spec.restartPolicy",
                 'Invalid value: only "Never" is supported when podFailurePolicy is specified')
    for f, rule in object_list(errs, f"{field}.rules", policy.get("rules")):
        one_of(errs, f"{f}.action", rule.get("action"), FAILURE_ACTIONS)
        codes, conds = rule.get("onExitCodes"), rule.get("onPodConditions")
        if (codes is None) == (conds is None):
            errs.add(f, "specifying one of onExitCodes and onPodConditions is required")
        if codes is not None:
            _exit_codes(errs, f"{f}.onExitCodes", codes)
        if conds is not None:
            for cf, cond in object_list(errs, f"{f}.onPodConditions", conds):
                if not is_str(cond.get("type")) or not cond["type"]:
                    errs.add(f"{cf}.type", REQUIRED)
                one_of(errs, f"{cf}.status", cond.get("status", "True"),
                       ("True", "False", "Unknown"))


def _exit_codes(errs: Errors, field: str, codes: Any) -> None:
    if not isinstance(codes, dict):
        errs.add(field, "must be an object")
        return
    one_of(errs, f"{field}.operator", codes.get("operator"), EXIT_CODE_OPERATORS)
    values = codes.get("values")
    if not isinstance(values, list) or not values or not all(is_int(v) for v in values):
        errs.add(f"{field}.values", "Required value: a non-empty list of integers")
    elif codes.get("operator") == "In" and 0 in values:
        errs.add(f"{field}.values", "Invalid value: 0: must not be 0 for the In operator")
    if codes.get("containerName") is not None and not is_str(codes.get("containerName")):
        errs.add(f"{field}.containerName", "must be a string")


def validate_cron_job(errs: Errors, obj: Obj, schedule_error: Any) -> None:
    """``schedule_error(schedule, time_zone)`` returns why a schedule is bad, or None."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    schedule, tz = spec.get("schedule"), spec.get("timeZone")
    if not is_str(schedule) or not schedule.strip():
        errs.add("spec.schedule", REQUIRED)
    elif tz is not None and not is_str(tz):
        errs.add("spec.timeZone", "must be a string")
    else:
        problem = schedule_error(schedule, tz)
        if problem:
            errs.add("spec.timeZone" if problem.startswith("unknown time zone") else
                     "spec.schedule", f"Invalid value: {problem}")
    one_of(errs, "spec.concurrencyPolicy", spec.get("concurrencyPolicy", "Allow"),
           CONCURRENCY_POLICIES)
    for name in ("successfulJobsHistoryLimit", "failedJobsHistoryLimit", "startingDeadlineSeconds"):
        nonneg_int(errs, f"spec.{name}", spec.get(name))
    tmpl = spec.get("jobTemplate")
    if not isinstance(tmpl, dict) or not isinstance(tmpl.get("spec"), dict):
        errs.add("spec.jobTemplate.spec", REQUIRED)
        return
    jspec = tmpl["spec"]
    inner = Errors()
    validate_workload(inner, {"spec": {"selector": {"matchLabels": {"x": "x"}}, **jspec,
                                       "template": _with_label(jspec.get("template"))}},
                      ("OnFailure", "Never"))
    validate_job_spec(inner, "spec", jspec)
    for f, message in inner.causes:
        errs.add("spec.jobTemplate." + f, message)


def _with_label(tmpl: Any) -> Any:
    """The template as a Job created from it will have it (the Job's own labels
    and selector are added then), so the placeholder selector above matches."""
    if not isinstance(tmpl, dict):
        return tmpl
    meta = tmpl.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    labels = meta.get("labels")
    labels = labels if isinstance(labels, dict) else {}
    return {**tmpl, "metadata": {**meta, "labels": {**labels, "x": "x"}}}


def job_update(errs: Errors, old: Obj, new: Obj) -> None:
    """Kubernetes' immutable Job fields (completions may change only with
    parallelism in an Indexed Job, which is not supported here)."""
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    if not isinstance(ns_, dict):
        return
    for name in ("selector", "template", "completions", "completionMode", "podFailurePolicy"):
        if os_.get(name) != ns_.get(name):
            errs.add(f"spec.{name}", "Invalid value: field is immutable")
