"""Pure: what the Job controller does next for one Job, given its pods and
the time.

Counting exactly once (Kubernetes' finalizer tracking): every pod is
created with the ``batch.kubernetes.io/job-tracking`` finalizer, so it
cannot vanish before it is counted, and a finished pod goes through three
steps, each idempotent:

1. its uid is recorded in ``status.uncountedTerminatedPods`` (and its index
   in ``completedIndexes``), a status write that is a compare-and-swap on
   the Job's resourceVersion;
2. only after that write is its finalizer removed;
3. a recorded uid whose pod has lost the finalizer (or is gone) moves from
   ``uncountedTerminatedPods`` into ``succeeded``/``failed``, again by a
   compare-and-swap.

A leader that dies between two steps leaves a state the next one finishes:
a recorded pod is never recorded twice (a set of uids), a pod without the
finalizer is never recorded (it was, or it is not ours to count), and a
stale copy of the Job cannot be written over a newer one. Pods the
controller deletes itself (suspend, too many, finished) lose the finalizer
before they are deleted and are not counted.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from coxapi import timefmt
from coxapi.meta import get_condition, is_terminating

from .conditions import set_condition

Obj = dict[str, Any]

TRACKING = "batch.kubernetes.io/job-tracking"
INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"
BACKOFF_BASE = 10.0  # Kubernetes' DefaultJobPodFailureBackOff
BACKOFF_MAX = 360.0  # MaxJobPodFailureBackOff

SUCCEEDED, FAILED, IGNORED = "succeeded", "failed", "ignored"


@dataclass
class JobPlan:
    status: Obj  # the whole new status; write it (if it changed) before anything else
    untrack: list[Obj] = field(default_factory=list)  # then remove their finalizer
    delete: list[Obj] = field(default_factory=list)  # then untrack and delete these
    create: list[int | None] = field(default_factory=list)  # then create: their indexes
    delete_job: bool = False  # ttlSecondsAfterFinished has passed
    requeue: float | None = None  # look again in this many seconds
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message)


# ---- facts about one pod ---------------------------------------------------

def tracked(pod: Obj) -> bool:
    return TRACKING in (pod["metadata"].get("finalizers") or [])


def pod_index(pod: Obj) -> int | None:
    value = (pod["metadata"].get("annotations") or {}).get(INDEX_KEY)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _exit_codes(pod: Obj, container: str | None) -> list[int]:
    out = []
    for s in (pod.get("status") or {}).get("containerStatuses") or []:
        if container is not None and s.get("name") != container:
            continue
        term = (s.get("state") or {}).get("terminated") or {}
        if "exitCode" in term:
            out.append(int(term["exitCode"]))
    return out


def failure_rule(job: Obj, pod: Obj) -> str | None:
    """The action of the first podFailurePolicy rule that matches a failed pod."""
    policy = (job.get("spec") or {}).get("podFailurePolicy") or {}
    for rule in policy.get("rules") or []:
        codes = rule.get("onExitCodes")
        if codes is not None:
            values = set(codes.get("values") or [])
            found = [c for c in _exit_codes(pod, codes.get("containerName")) if c != 0]
            hit = (any(c in values for c in found) if codes.get("operator") == "In"
                   else any(c not in values for c in found))
        else:
            hit = any((c := get_condition(pod, cond.get("type", ""))) is not None
                      and c.get("status") == cond.get("status", "True")
                      for cond in rule.get("onPodConditions") or [])
        if hit:
            return str(rule.get("action"))
    return None


def outcome(job: Obj, pod: Obj) -> str | None:
    """SUCCEEDED, FAILED, IGNORED (a failure podFailurePolicy says not to
    count), or None while the pod is still active. A terminating pod that has
    not succeeded has failed (podReplacementPolicy TerminatingOrFailed)."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return SUCCEEDED
    if phase == "Failed":
        return IGNORED if failure_rule(job, pod) == "Ignore" else FAILED
    if is_terminating(pod):
        return FAILED
    return None


def finished_at(pod: Obj) -> float | None:
    """When a failed pod stopped: its containers' last finish, else when it
    was deleted."""
    times = [timefmt.parse_epoch(((s.get("state") or {}).get("terminated") or {})
                                 .get("finishedAt"))
             for s in (pod.get("status") or {}).get("containerStatuses") or []]
    known = [t for t in times if t is not None]
    if known:
        return max(known)
    return timefmt.parse_epoch(pod["metadata"].get("deletionTimestamp"))


def backoff_delay(failures: int) -> float:
    """Kubernetes' pod-failure back-off: 10 s, 20 s, 40 s, ... capped at 6 min."""
    if failures <= 0:
        return 0.0
    return min(BACKOFF_BASE * 2 ** min(failures - 1, 16), BACKOFF_MAX)


# ---- completed indexes as Kubernetes writes them: "1,3-5,7" -----------------

def parse_indexes(text: str | None) -> set[int]:
    out: set[int] = set()
    for part in (text or "").split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        try:
            out.update(range(int(lo), int(hi or lo) + 1))
        except ValueError:
            continue
    return out


def format_indexes(indexes: set[int]) -> str:
    parts: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        parts.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(parts)


# ---- conditions --------------------------------------------------------------

def finished(job: Obj) -> str | None:
    """"Complete" or "Failed" once the Job has that condition."""
    for ctype in ("Complete", "Failed"):
        c = get_condition(job, ctype)
        if c and c.get("status") == "True":
            return ctype
    return None


# ---- the decision ------------------------------------------------------------

def decide(job: Obj, pods: list[Obj], now: float) -> JobPlan:
    """``pods``: those the Job controls (its controller reference)."""
    spec = job.get("spec") or {}
    old = job.get("status") or {}
    status = copy.deepcopy(old)
    plan = JobPlan(status)
    indexed = spec.get("completionMode") == "Indexed"
    completions = spec.get("completions")
    by_uid = {p["metadata"].get("uid"): p for p in pods}

    # Step 3: recorded pods whose finalizer is gone are counted.
    unc = status.get("uncountedTerminatedPods") or {}
    rec_s, rec_f = list(unc.get("succeeded") or []), list(unc.get("failed") or [])
    succeeded, failed = int(old.get("succeeded") or 0), int(old.get("failed") or 0)
    for uid in list(rec_s):
        if uid not in by_uid or not tracked(by_uid[uid]):
            rec_s.remove(uid)
            succeeded += 1
    for uid in list(rec_f):
        if uid not in by_uid or not tracked(by_uid[uid]):
            rec_f.remove(uid)
            failed += 1

    # Step 1: finished pods still holding the finalizer are recorded (and,
    # after the status write, untracked: step 2).
    completed = parse_indexes(status.get("completedIndexes"))
    fail_job: str | None = None
    active: list[Obj] = []
    for pod in sorted(pods, key=lambda p: p["metadata"].get("creationTimestamp") or ""):
        result = outcome(job, pod)
        if result is None:
            active.append(pod)
            continue
        if not tracked(pod):
            continue
        uid = pod["metadata"].get("uid")
        if result == SUCCEEDED:
            idx = pod_index(pod)
            if indexed and idx is not None and 0 <= idx < (completions or 0):
                completed.add(idx)
            if uid not in rec_s:
                rec_s.append(uid)
        elif result == FAILED:
            if uid not in rec_f:
                rec_f.append(uid)
            if failure_rule(job, pod) == "FailJob":
                fail_job = (f"Container of pod {pod['metadata']['name']} failed with an exit "
                            "code matching a FailJob rule")
        plan.untrack.append(pod)
    status["uncountedTerminatedPods"] = {k: v for k, v in
                                         (("succeeded", rec_s), ("failed", rec_f)) if v}
    if indexed:
        status["completedIndexes"] = format_indexes(completed)
        succeeded = len(completed)
    status["succeeded"], status["failed"] = succeeded, failed
    all_succeeded = succeeded if indexed else succeeded + len(rec_s)
    all_failed = failed + len(rec_f)
    status["active"] = len(active)
    status["ready"] = sum(1 for p in active if (c := get_condition(p, "Ready"))
                          and c.get("status") == "True")
    settled = not rec_s and not rec_f

    done = finished(job)
    if done:
        plan.delete = active
        if settled and spec.get("ttlSecondsAfterFinished") is not None:
            c = get_condition(job, done) or {}
            at = timefmt.parse_epoch(c.get("lastTransitionTime")) or now
            left = at + int(spec["ttlSecondsAfterFinished"]) - now
            if left <= 0:
                plan.delete_job = True
            else:
                plan.requeue = left
        return plan

    # Why the Job fails, if it does.
    restarts = 0
    if ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure":
        restarts = sum(int(s.get("restartCount") or 0) for p in active
                       for s in (p.get("status") or {}).get("containerStatuses") or [])
    failure: tuple[str, str] | None = None
    if fail_job:  # kept in the status write that records the pod (as Kubernetes does)
        set_condition(status, "FailureTarget", True, "PodFailurePolicy", fail_job, now)
    target = get_condition({"status": status}, "FailureTarget")
    if target and target.get("status") == "True":
        failure = (str(target.get("reason")), str(target.get("message")))
    elif all_failed + restarts > int(spec.get("backoffLimit", 6)):
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    start = timefmt.parse_epoch(old.get("startTime"))
    deadline = spec.get("activeDeadlineSeconds")
    if failure is None and deadline is not None and start is not None \
            and now - start >= int(deadline):
        failure = ("DeadlineExceeded", "Job was active longer than specified deadline")

    if indexed:
        success = completions is not None and len(completed) >= completions
    elif completions is not None:
        success = all_succeeded >= completions
    else:  # a work queue: done once one pod has succeeded and none is left
        success = all_succeeded > 0 and not active

    if failure or success:
        plan.delete = active
        if settled and not active:
            if failure:
                set_condition(status, "Failed", True, *failure, now)
                plan.events.append(("Warning", failure[0], failure[1]))
            else:
                set_condition(status, "Complete", True, "CompletionsReached",
                              "Reached expected number of succeeded pods", now)
                status["completionTime"] = timefmt.rfc3339(now)
                plan.events.append(("Normal", "Completed", "Job completed"))
        return plan

    if spec.get("suspend"):
        plan.delete = active
        status.pop("startTime", None)
        if (get_condition(job, "Suspended") or {}).get("status") != "True":
            set_condition(status, "Suspended", True, "JobSuspended", "Job suspended", now)
            plan.events.append(("Normal", "Suspended", "Job suspended"))
        return plan
    if (get_condition(job, "Suspended") or {}).get("status") == "True":
        set_condition(status, "Suspended", False, "JobResumed", "Job resumed", now)
        plan.events.append(("Normal", "Resumed", "Job resumed"))
    if not status.get("startTime"):
        status["startTime"] = timefmt.rfc3339(now)
        start = now
    if deadline is not None and start is not None:
        plan.requeue = max(0.0, start + int(deadline) - now) + 0.01

    parallelism = int(spec.get("parallelism", 1) or 0)
    if indexed:
        running = {pod_index(p) for p in active}
        missing = [i for i in range(completions or 0) if i not in completed and i not in running]
        want_new = max(0, min(parallelism - len(active), len(missing)))
        excess = len(active) - parallelism
        plan.create = list(missing[:want_new])
        victims = sorted(active, key=lambda p: -(pod_index(p) or 0))
    else:
        left = parallelism if completions is None else \
            min(parallelism, max(0, completions - all_succeeded))
        if completions is None and all_succeeded > 0:
            left = 0  # no new work once one pod has succeeded
        excess = len(active) - left
        plan.create = [None] * max(0, -excess)
        victims = list(reversed(active))  # the newest go first
    if excess > 0:
        plan.delete = victims[:excess]

    if plan.create and all_failed:
        last = max((t for p in pods if outcome(job, p) == FAILED
                    and (t := finished_at(p)) is not None), default=None)
        wait = 0.0 if last is None else last + backoff_delay(all_failed) - now
        if wait > 0:
            plan.create = []
            plan.requeue = min(wait, plan.requeue) if plan.requeue is not None else wait
    return plan
