"""Pure: the pod status the agent reports, from what it observed.

Follows kubelet: container states (waiting / running / terminated with
``lastState``), ``restartCount``, the pod phase rules of kubelet's
``getPhase``, and the ``Initialized`` / ``ContainersReady`` / ``Ready`` /
``PodScheduled`` conditions. Timestamps already in the old status are kept
when nothing changed, so an unchanged pod yields an equal status and no write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coxapi import timefmt
from coxapi.jsoncopy import json_copy

from . import podplan
from .runtime import ContainerInfo

Obj = dict[str, Any]


def rfc3339(ts: float | None) -> str | None:
    return None if ts is None else timefmt.rfc3339(ts)


@dataclass
class Observed:
    """Everything the status is computed from, besides the pod itself."""

    containers: list[ContainerInfo]
    host_ip: str
    now: float
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    ready: dict[str, bool] = field(default_factory=dict)  # container id -> readiness result
    started: dict[str, bool] = field(default_factory=dict)  # container id -> startup done
    start_time: float | None = None  # when the agent first saw the pod


def terminated_state(c: ContainerInfo) -> Obj:
    if c.oom_killed:
        reason = "OOMKilled"
    else:
        reason = "Completed" if c.exit_code == 0 else "Error"
    state: Obj = {"exitCode": c.exit_code if c.exit_code is not None else -1, "reason": reason,
                  "startedAt": rfc3339(c.started_at), "finishedAt": rfc3339(c.finished_at),
                  "containerID": f"docker://{c.id}"}
    if c.error:
        state["message"] = c.error
    return {"terminated": state}


def _stopped(c: ContainerInfo | None) -> bool:
    return c is not None and c.state in ("exited", "dead")


def container_status(spec: Obj, instances: list[ContainerInfo], obs: Observed) -> Obj:
    name = spec["name"]
    last = instances[-1] if instances else None
    prev = instances[-2] if len(instances) > 1 else None
    out: Obj = {"name": name, "image": spec.get("image", ""), "imageID": "", "containerID": "",
                "ready": False, "started": False, "restartCount": last.attempt if last else 0,
                "state": {}, "lastState": {}}
    if last is not None:
        out["containerID"] = f"docker://{last.id}"
        out["imageID"] = f"docker://{last.image_id}" if last.image_id else ""
    if prev is not None and _stopped(prev):
        out["lastState"] = terminated_state(prev)
    if last is None or last.state == "created":
        reason, message = obs.waiting.get(name, ("ContainerCreating", ""))
        out["state"] = {"waiting": _waiting(reason, message)}
    elif last.running:
        out["state"] = {"running": {"startedAt": rfc3339(last.started_at)}}
        out["started"] = obs.started.get(last.id, True)
        out["ready"] = out["started"] and obs.ready.get(last.id, False)
    elif name in obs.waiting:
        reason, message = obs.waiting[name]
        out["state"] = {"waiting": _waiting(reason, message)}
        out["lastState"] = terminated_state(last)
    else:
        out["state"] = terminated_state(last)
    return out


def _waiting(reason: str, message: str) -> Obj:
    return {"reason": reason, "message": message} if message else {"reason": reason}


def phase(pod: Obj, statuses: list[Obj]) -> str:
    """kubelet's ``getPhase``."""
    old = pod.get("status", {}).get("phase")
    if old in ("Succeeded", "Failed"):
        return old
    policy = pod["spec"].get("restartPolicy", "Always")
    running = waiting = stopped = succeeded = 0
    for s in statuses:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif "terminated" in s.get("lastState", {}):
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        if policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def qos_class(pod: Obj) -> str:
    requests_set = limits_set = guaranteed = True
    any_set = False
    for c in pod["spec"].get("containers") or []:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        any_set = any_set or bool(req) or bool(lim)
        for r in ("cpu", "memory"):
            if r not in lim:
                limits_set = False
            if r not in req:
                requests_set = False
            elif r in lim and str(req[r]) != str(lim[r]):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if limits_set and requests_set and guaranteed else "Burstable"


def pod_status(pod: Obj, obs: Observed) -> Obj:
    old = pod.get("status") or {}
    status = json_copy(old)
    latest = podplan.latest_by_name(obs.containers)
    statuses = [container_status(spec, latest.get(spec["name"], []), obs)
                for spec in pod["spec"].get("containers") or []]
    status["phase"] = phase(pod, statuses)
    status["containerStatuses"] = statuses
    status["hostIP"] = obs.host_ip
    status["hostIPs"] = [{"ip": obs.host_ip}]
    sandbox = podplan.current_sandbox(obs.containers)
    if sandbox is not None and sandbox.running and sandbox.ip:
        status["podIP"] = sandbox.ip
        status["podIPs"] = [{"ip": sandbox.ip}]
    status.setdefault("startTime", rfc3339(obs.start_time or obs.now))
    status["qosClass"] = qos_class(pod)
    # figures older agents wrote, before usage moved to the Lease reports: they
    # would never change again
    status.pop("usage", None)

    containers_ready = bool(statuses) and all(s["ready"] for s in statuses)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    reason = "" if containers_ready else "ContainersNotReady"
    message = "" if containers_ready else f"containers with unready status: [{' '.join(not_ready)}]"
    ready_reason, ready_message = reason, message
    if status["phase"] in ("Succeeded", "Failed"):
        reason = ready_reason = "PodCompleted"
        message = ready_message = ""
    if terminating:
        ready_reason, ready_message = "PodTerminating", "the pod is being deleted"
    now = rfc3339(obs.now)
    wanted = [
        ("Initialized", True, "", ""),
        ("Ready", containers_ready and not terminating, ready_reason, ready_message),
        ("ContainersReady", containers_ready, reason, message),
        ("PodScheduled", True, "", ""),
    ]
    old_conds = {c.get("type"): c for c in old.get("conditions") or []}
    conds = []
    for ctype, ok, why, what in wanted:
        value = "True" if ok else "False"
        prev = old_conds.pop(ctype, None)
        cond: Obj = {"type": ctype, "status": value}
        if why and not ok:
            cond["reason"] = why
        if what and not ok:
            cond["message"] = what
        keep = prev is not None and prev.get("status") == value
        cond["lastProbeTime"] = None
        cond["lastTransitionTime"] = (prev.get("lastTransitionTime") if keep and prev else now)
        conds.append(cond)
    conds += list(old_conds.values())  # conditions others own (e.g. DisruptionTarget)
    status["conditions"] = conds
    return status
