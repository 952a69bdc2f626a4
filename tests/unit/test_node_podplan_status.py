"""The sync plan (node/podplan.py) and the pod status (node/status.py)."""

from __future__ import annotations

from node import podspec
from node.backoff import Backoff
from node.podplan import (
    DeletePod,
    KillContainer,
    RemoveContainer,
    RemovePodDir,
    StartContainer,
    StartSandbox,
    plan_pod,
)
from node.runtime import ContainerInfo
from node.status import Observed, pod_status
from node.testing import make_pod

NOW = 10_000.0


def clock() -> float:
    return NOW


def pod(policy: str = "Always", containers: list[dict] | None = None, **meta) -> dict:
    p = make_pod("web", "n1", containers or [{"name": "app", "image": "img"}],
                 restartPolicy=policy, terminationGracePeriodSeconds=5)
    p["metadata"].update(uid="u1", **meta)
    return p


def infra(state: str = "running", attempt: int = 0, cid: str = "infra0") -> ContainerInfo:
    return ContainerInfo(cid, f"infra{attempt}", {
        podspec.LABEL_POD_UID: "u1", podspec.LABEL_CONTAINER_NAME: "POD",
        podspec.LABEL_CONTAINER_TYPE: "infra", podspec.LABEL_ATTEMPT: str(attempt)},
        state, ip="10.244.1.2", started_at=NOW - 100)


def app(p: dict, state: str = "running", attempt: int = 0, exit_code: int | None = None,
        cid: str | None = None, sandbox: str = "infra0", name: str = "app",
        started: float = NOW - 50, finished: float | None = None) -> ContainerInfo:
    spec = next(c for c in p["spec"]["containers"] if c["name"] == name)
    return ContainerInfo(cid or f"{name}{attempt}", f"{name}{attempt}", {
        podspec.LABEL_POD_UID: "u1", podspec.LABEL_CONTAINER_NAME: name,
        podspec.LABEL_CONTAINER_TYPE: "app", podspec.LABEL_ATTEMPT: str(attempt),
        podspec.LABEL_SANDBOX: sandbox, podspec.LABEL_HASH: podspec.container_hash(spec)},
        state, exit_code=exit_code, started_at=started,
        finished_at=finished if finished is not None else (NOW - 1 if state == "exited" else None),
        image_id="sha256:abc")


def plan(p, containers, backoff=None, unhealthy=None):
    return plan_pod(p, containers, NOW, backoff or Backoff(clock), unhealthy)


# ---- the plan ---------------------------------------------------------------

def test_new_pod_starts_a_sandbox_then_its_containers():
    p = pod(containers=[{"name": "a", "image": "i"}, {"name": "b", "image": "i"}])
    assert plan(p, []).actions == [StartSandbox(0), StartContainer("a", 0),
                                   StartContainer("b", 0)]


def test_steady_pod_needs_nothing():
    p = pod()
    assert plan(p, [infra(), app(p)]).actions == []


def test_crashed_container_restarts_at_once_the_first_time_under_always():
    p = pod()
    assert plan(p, [infra(), app(p, "exited", exit_code=1)]).actions == [
        StartContainer("app", 1, crash_restart=True)]


def test_second_crash_waits_in_crash_loop_back_off():
    p = pod()
    b = Backoff(clock)
    b.retried("u1/app")
    result = plan(p, [infra(), app(p, "exited", attempt=1, exit_code=1)], backoff=b)
    assert not any(isinstance(a, StartContainer) for a in result.actions)
    reason, message = result.waiting["app"]
    assert reason == "CrashLoopBackOff" and "back-off 10s" in message


def test_restart_policies():
    for policy, code, restarts in [("Always", 0, True), ("OnFailure", 0, False),
                                   ("OnFailure", 2, True), ("Never", 2, False)]:
        p = pod(policy)
        actions = plan(p, [infra(), app(p, "exited", exit_code=code)]).actions
        started = any(isinstance(a, StartContainer) for a in actions)
        assert started == restarts, (policy, code)


def test_finished_pod_stops_its_sandbox():
    p = pod("Never")
    assert plan(p, [infra(), app(p, "exited", exit_code=0)]).actions == [
        KillContainer("infra0", 2.0, "PodCompleted")]


def test_failed_liveness_kills_the_container_with_the_pod_grace():
    p = pod()
    c = app(p)
    assert plan(p, [infra(), c], unhealthy={c.id: "Liveness probe failed"}).actions == [
        KillContainer(c.id, 5.0, "Liveness probe failed")]


def test_dead_sandbox_is_replaced_and_every_container_restarts_in_it():
    p = pod()
    result = plan(p, [infra("exited"), app(p)])
    assert result.actions == [KillContainer("app0", 5.0, "SandboxChanged"),
                              RemoveContainer("infra0"), StartSandbox(1),
                              StartContainer("app", 1)]


def test_changed_spec_replaces_the_container():
    p = pod()
    running = app(p)
    p["spec"]["containers"][0]["image"] = "img:2"
    assert plan(p, [infra(), running]).actions == [KillContainer("app0", 5.0, "SpecChanged"),
                                                   StartContainer("app", 1)]


def test_old_instances_are_pruned_keeping_current_and_previous():
    p = pod()
    old = [app(p, "exited", attempt=i, exit_code=1) for i in range(3)]
    actions = plan(p, [infra(), *old, app(p, attempt=3)]).actions
    assert actions == [RemoveContainer("app0"), RemoveContainer("app1")]


def test_deleted_pod_gets_sigterm_with_remaining_grace_then_removal_and_delete():
    p = pod(deletionTimestamp="1970-01-01T02:46:50Z", deletionGracePeriodSeconds=30)  # NOW+10
    result = plan(p, [infra(), app(p)])
    assert result.actions == [KillContainer("app0", 10.0, "Killing"),
                              KillContainer("infra0", 2.0, "Killing"),
                              RemoveContainer("infra0"), RemoveContainer("app0"),
                              RemovePodDir(), DeletePod()]


def test_containers_of_no_pod_are_torn_down_without_deleting_any_pod():
    p = pod()
    actions = plan_pod(None, [infra(), app(p)], NOW, Backoff(clock)).actions
    assert DeletePod() not in actions
    assert RemoveContainer("app0") in actions and RemoveContainer("infra0") in actions


# ---- the status ---------------------------------------------------------------

def obs(containers, **kw) -> Observed:
    return Observed(containers=containers, host_ip="10.250.0.11", now=NOW, **kw)


def test_running_ready_pod_status():
    p = pod()
    c = app(p)
    s = pod_status(p, obs([infra(), c], ready={c.id: True}, started={c.id: True}))
    assert s["phase"] == "Running"
    assert s["podIP"] == "10.244.1.2" and s["hostIP"] == "10.250.0.11"
    cs = s["containerStatuses"][0]
    assert cs["ready"] and cs["state"]["running"]["startedAt"]
    assert cs["containerID"] == f"docker://{c.id}" and cs["restartCount"] == 0
    conds = {x["type"]: x["status"] for x in s["conditions"]}
    assert conds == {"Initialized": "True", "Ready": "True", "ContainersReady": "True",
                     "PodScheduled": "True"}


def test_unchanged_observation_gives_an_equal_status():
    p = pod()
    c = app(p)
    o = obs([infra(), c], ready={c.id: True}, started={c.id: True})
    p["status"] = pod_status(p, o)
    later = Observed(**{**o.__dict__, "now": NOW + 30})
    assert pod_status(p, later) == p["status"]


def test_crash_loop_shows_waiting_with_last_terminated_state_and_restart_count():
    p = pod()
    s = pod_status(p, obs([infra(), app(p, "exited", attempt=3, exit_code=2)],
                          waiting={"app": ("CrashLoopBackOff", "back-off 40s")}))
    cs = s["containerStatuses"][0]
    assert cs["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}
    assert cs["lastState"]["terminated"]["exitCode"] == 2
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert cs["restartCount"] == 3
    assert s["phase"] == "Running"


def test_image_pull_failure_is_pending_with_the_reason():
    p = pod()
    s = pod_status(p, obs([infra()], waiting={"app": ("ErrImagePull", "Failed to pull")}))
    assert s["phase"] == "Pending"
    assert s["containerStatuses"][0]["state"]["waiting"]["reason"] == "ErrImagePull"


def test_phases_of_finished_pods():
    p = pod("Never")
    ok = pod_status(p, obs([infra("exited"), app(p, "exited", exit_code=0)]))
    assert ok["phase"] == "Succeeded"
    assert ok["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    failed = pod_status(p, obs([infra("exited"), app(p, "exited", exit_code=1)]))
    assert failed["phase"] == "Failed"


def test_terminating_pod_is_not_ready_even_if_its_containers_are():
    p = pod(deletionTimestamp="2030-01-01T00:00:00Z")
    c = app(p)
    s = pod_status(p, obs([infra(), c], ready={c.id: True}, started={c.id: True}))
    ready = next(x for x in s["conditions"] if x["type"] == "Ready")
    assert ready["status"] == "False" and ready["reason"] == "PodTerminating"


def test_not_started_container_is_not_ready():
    p = pod()
    c = app(p)
    s = pod_status(p, obs([infra(), c], ready={c.id: True}, started={c.id: False}))
    assert s["containerStatuses"][0]["ready"] is False
