"""Pure: what to do to bring one pod's containers toward its spec.

Input is the pod as the API has it (or None for containers no pod owns any
more), the containers Docker reports for its uid, which containers the probes
gave up on, the restart back-off and the time. Output is an ordered list of
actions for the pod worker to apply, plus the waiting reasons to report
(``CrashLoopBackOff``) for containers deliberately left stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coxapi.timefmt import parse_epoch

from . import podspec
from .backoff import Backoff
from .runtime import ContainerInfo

Obj = dict[str, Any]
SANDBOX_STOP_GRACE = 2.0


@dataclass(frozen=True)
class StartSandbox:
    attempt: int


@dataclass(frozen=True)
class StartContainer:
    name: str
    attempt: int
    crash_restart: bool = False  # counts toward the back-off


@dataclass(frozen=True)
class KillContainer:
    container_id: str
    grace: float
    reason: str


@dataclass(frozen=True)
class RemoveContainer:
    container_id: str


@dataclass(frozen=True)
class RemovePodDir:
    pass


@dataclass(frozen=True)
class DeletePod:
    """Remove the API object (gracePeriodSeconds=0): the pod is fully stopped."""


Action = StartSandbox | StartContainer | KillContainer | RemoveContainer | RemovePodDir | DeletePod


@dataclass
class PodPlan:
    actions: list[Action] = field(default_factory=list)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (reason, message)


def backoff_key(pod_uid: str, container: str) -> str:
    return f"{pod_uid}/{container}"


def latest_by_name(containers: Iterable[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    """App containers grouped by name, oldest attempt first."""
    out: dict[str, list[ContainerInfo]] = {}
    for c in containers:
        if not c.is_infra:
            out.setdefault(c.container_name, []).append(c)
    for instances in out.values():
        instances.sort(key=lambda c: (c.attempt, c.started_at or 0))
    return out


def current_sandbox(containers: Iterable[ContainerInfo]) -> ContainerInfo | None:
    infras = sorted((c for c in containers if c.is_infra), key=lambda c: c.attempt)
    return infras[-1] if infras else None


def will_restart(policy: str, c: ContainerInfo) -> bool:
    """Whether a stopped container is started again under ``restartPolicy``."""
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return c.exit_code != 0
    return True


def _stopped(c: ContainerInfo) -> bool:
    return c.state in ("exited", "dead")


def pod_finished(pod: Obj, containers: Iterable[ContainerInfo]) -> bool:
    """Every container has stopped for good: the pod is Succeeded or Failed."""
    if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
        return True
    policy = pod["spec"].get("restartPolicy", "Always")
    latest = latest_by_name(containers)
    specs = pod["spec"].get("containers") or []
    if not specs:
        return False
    for spec in specs:
        instances = latest.get(spec["name"])
        if not instances:
            return False
        last = instances[-1]
        if not _stopped(last) or will_restart(policy, last):
            return False
    return True


def plan_pod(pod: Obj | None, containers: list[ContainerInfo], now: float, backoff: Backoff,
             unhealthy: dict[str, str] | None = None) -> PodPlan:
    unhealthy = unhealthy or {}
    if pod is None:
        return _teardown(containers, _orphan_grace(containers), delete_pod=False)
    if pod["metadata"].get("deletionTimestamp"):
        return _teardown(containers, termination_grace(pod, now), delete_pod=True)
    if pod_finished(pod, containers):
        plan = PodPlan()
        plan.actions += [KillContainer(c.id, SANDBOX_STOP_GRACE, "PodCompleted")
                         for c in containers if c.running]
        plan.actions += _prune(latest_by_name(containers))
        return plan
    return _run(pod, containers, backoff, unhealthy)


def termination_grace(pod: Obj, now: float) -> float:
    """Seconds of grace left for a pod being deleted (``docker stop`` timeout)."""
    meta = pod["metadata"]
    if meta.get("deletionGracePeriodSeconds") == 0:
        return 0.0
    grace = float(meta.get("deletionGracePeriodSeconds")
                  or pod["spec"].get("terminationGracePeriodSeconds", 30))
    deadline = parse_epoch(meta.get("deletionTimestamp"))
    if deadline is None:
        return grace
    # Never more than the grace period, even if the clocks of master and node disagree.
    return min(grace, max(0.0, deadline - now))


def _orphan_grace(containers: list[ContainerInfo]) -> float:
    for c in containers:
        try:
            return float(c.labels.get(podspec.LABEL_GRACE, "30"))
        except ValueError:
            pass
    return 30.0


def _teardown(containers: list[ContainerInfo], grace: float, delete_pod: bool) -> PodPlan:
    """SIGTERM the app containers (SIGKILL after ``grace``), then the sandbox,
    then remove everything."""
    plan = PodPlan()
    plan.actions += [KillContainer(c.id, grace, "Killing")
                     for c in containers if c.running and not c.is_infra]
    plan.actions += [KillContainer(c.id, min(grace, SANDBOX_STOP_GRACE), "Killing")
                     for c in containers if c.running and c.is_infra]
    plan.actions += [RemoveContainer(c.id) for c in containers]
    plan.actions.append(RemovePodDir())
    if delete_pod:
        plan.actions.append(DeletePod())
    return plan


def _run(pod: Obj, containers: list[ContainerInfo], backoff: Backoff,
         unhealthy: dict[str, str]) -> PodPlan:
    plan = PodPlan()
    uid = pod["metadata"]["uid"]
    policy = pod["spec"].get("restartPolicy", "Always")
    grace = float(pod["spec"].get("terminationGracePeriodSeconds", 30))
    latest = latest_by_name(containers)
    sandbox = current_sandbox(containers)

    if sandbox is None or not sandbox.running:
        # A new sandbox means a new network namespace: every container restarts in it.
        plan.actions += [KillContainer(c.id, grace, "SandboxChanged")
                         for c in containers if c.running and not c.is_infra]
        plan.actions += [RemoveContainer(c.id) for c in containers if c.is_infra]
        plan.actions.append(StartSandbox(sandbox.attempt + 1 if sandbox else 0))
        for spec in pod["spec"].get("containers") or []:
            instances = latest.get(spec["name"])
            last = instances[-1] if instances else None
            if last is not None and _stopped(last) and not will_restart(policy, last):
                continue
            plan.actions.append(StartContainer(spec["name"], last.attempt + 1 if last else 0))
        plan.actions += _prune(latest)
        return plan

    for spec in pod["spec"].get("containers") or []:
        name = spec["name"]
        instances = latest.get(name)
        last = instances[-1] if instances else None
        if last is None:
            plan.actions.append(StartContainer(name, 0))
        elif last.running:
            replace = (last.labels.get(podspec.LABEL_SANDBOX) != sandbox.id
                       or last.labels.get(podspec.LABEL_HASH) != podspec.container_hash(spec))
            if replace:
                plan.actions.append(KillContainer(last.id, grace, "SpecChanged"))
                plan.actions.append(StartContainer(name, last.attempt + 1))
            elif last.id in unhealthy:
                # Restarted (or not) by the restart policy once it has stopped.
                plan.actions.append(KillContainer(last.id, grace, unhealthy[last.id]))
        elif last.state == "created":
            # Created but never started: an attempt interrupted half-way.
            plan.actions.append(RemoveContainer(last.id))
            plan.actions.append(StartContainer(name, last.attempt))
        elif will_restart(policy, last):
            key = backoff_key(uid, name)
            ran_for = (last.finished_at or 0) - (last.started_at or 0)
            wait = backoff.remaining(key, last.finished_at or 0, ran_for)
            if wait <= 0:
                plan.actions.append(StartContainer(name, last.attempt + 1, crash_restart=True))
            else:
                pod_ref = f"{pod['metadata']['name']}_{pod['metadata'].get('namespace')}({uid})"
                plan.waiting[name] = (
                    "CrashLoopBackOff",
                    f"back-off {backoff.delay(key):g}s restarting failed container={name} "
                    f"pod={pod_ref}")
    plan.actions += _prune(latest)
    return plan


def _prune(latest: dict[str, list[ContainerInfo]]) -> list[Action]:
    """Keep each container's current and previous instance (for ``lastState``)."""
    return [RemoveContainer(c.id) for instances in latest.values()
            for c in instances[:-2] if _stopped(c)]
