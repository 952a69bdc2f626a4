"""The agent's loop against a fake runtime and a fake API (no Docker, no root)."""

from __future__ import annotations

import dataclasses
import os
import threading
import time

import pytest

from node import podspec
from node.agent import Agent, AgentConfig
from node.heartbeat import LEASE_NAMESPACE
from node.registration import NodeConfig, Taint
from node.testing import FakeApi, FakeRuntime, make_pod
from tests.support import wait_until


class Clock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def env(tmp_path):
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "spec": {"podCIDR": "10.244.7.0/24"}})
    clock = Clock()
    rt = FakeRuntime(clock)
    cfg = AgentConfig(node=NodeConfig("n1", "10.250.0.11", 0, labels={"zone": "a"},
                                      taints=[Taint.parse("dedicated=db:NoSchedule")]),
                      data_dir=str(tmp_path), manage_network=False, serve_logs=False,
                      run_proxy=False, heartbeat_period=0.05,
                      pod_relist_period=0)  # passes driven by hand each see the API
    agent = Agent(cfg, api, rt, clock=clock)  # type: ignore[arg-type]
    assert agent.start()
    yield api, rt, agent, clock
    agent.stop()
    agent.shutdown()


def sync(agent: Agent) -> None:
    agent.sync_once()
    assert agent.wait_idle()


def add_pod(api: FakeApi, name: str = "web", **spec) -> dict:
    containers = spec.pop("containers", [{"name": "app", "image": "busybox:test",
                                          "imagePullPolicy": "IfNotPresent"}])
    return api.create(make_pod(name, "n1", containers, terminationGracePeriodSeconds=3, **spec))


def test_registers_the_node_with_labels_taints_capacity_and_heartbeats(env):
    api, rt, agent, _ = env
    node = api.get("Node", "n1", namespace=None)
    labels = node["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "n1" and labels["zone"] == "a"
    assert labels["kubernetes.io/os"] == "linux"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "db",
                                       "effect": "NoSchedule"}]
    assert node["spec"]["podCIDR"] == "10.244.7.0/24"  # kept on re-registration
    st = node["status"]
    assert {"type": "InternalIP", "address": "10.250.0.11"} in st["addresses"]
    assert st["capacity"]["pods"] == "110" and st["allocatable"]["cpu"]
    assert st["nodeInfo"]["containerRuntimeVersion"] == "fake://1.0"
    assert rt.networks["cox-pods"] == "10.244.7.0/24"
    wait_until(lambda: agent.heartbeat.beats >= 2, 5, what="two heartbeats")
    lease = api.get("Lease", "n1", LEASE_NAMESPACE)
    assert lease["spec"]["holderIdentity"] == "n1" and lease["spec"]["renewTime"]
    node = api.get("Node", "n1", namespace=None)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True" and ready["lastHeartbeatTime"]
    assert set(node["status"]["usage"]) == {"cpu", "memory"}


def test_pod_runs_and_reports_running_ready_with_its_ip(env):
    api, rt, agent, _ = env
    pod = add_pod(api)
    sync(agent)
    uid = pod["metadata"]["uid"]
    assert rt.app(uid, "app").running
    sync(agent)  # probes are started for running containers on this pass
    sync(agent)
    st = api.pod("web")["status"]
    assert st["phase"] == "Running" and st["podIP"].startswith("10.244.7.")
    assert st["containerStatuses"][0]["ready"] is True
    writes = api.updates("update_status", "Pod")
    sync(agent)
    sync(agent)
    assert api.updates("update_status", "Pod") == writes, "unchanged status is not rewritten"


def test_crashed_container_restarts_then_backs_off(env):
    api, rt, agent, clock = env
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)
    rt.exit(rt.app(uid, "app").id, 1)
    sync(agent)
    assert rt.app(uid, "app").attempt == 1 and rt.app(uid, "app").running
    rt.exit(rt.app(uid, "app").id, 1)
    sync(agent)
    sync(agent)
    cs = api.pod("web")["status"]["containerStatuses"][0]
    assert cs["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert cs["restartCount"] == 1
    clock.t += 11
    sync(agent)
    assert rt.app(uid, "app").attempt == 2 and rt.app(uid, "app").running


def test_graceful_delete_reports_not_ready_stops_then_deletes(env):
    api, rt, agent, _ = env
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)
    sync(agent)
    api.delete("Pod", "web")
    assert api.pod("web")["metadata"]["deletionTimestamp"]
    api.calls.clear()
    sync(agent)
    assert api.pod("web") is None
    assert rt.list_containers({podspec.LABEL_POD_UID: uid}) == []
    # Not-ready status was written before the delete; SIGTERM got the grace period.
    verbs = [c for c in api.calls if c[1] == "Pod" and c[0] in ("update_status", "delete")]
    assert verbs[0] == ("update_status", "Pod") and verbs[-1] == ("delete", "Pod")
    assert 0 < rt.stops[0][1] <= 3


def test_orphans_are_removed_but_not_while_the_api_is_unreachable(env):
    api, rt, agent, _ = env
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)
    key = ("Pod", "default", "web")
    api.reachable = False
    del api.objects[key]  # gone from the API, but the agent cannot know yet
    sync(agent)
    assert rt.app(uid, "app").running, "an unreachable API must never kill pods"
    rt.exit(rt.app(uid, "app").id, 1)
    sync(agent)
    assert rt.app(uid, "app").running, "crashed containers still restart while offline"
    api.reachable = True
    sync(agent)
    assert rt.list_containers({podspec.LABEL_POD_UID: uid}) == []


def test_unpullable_image_reports_err_image_pull_then_back_off(env):
    api, rt, agent, clock = env
    add_pod(api, containers=[{"name": "app", "image": "nowhere/img:1",
                              "imagePullPolicy": "IfNotPresent"}])
    def waiting() -> dict:
        return api.pod("web")["status"]["containerStatuses"][0]["state"]["waiting"]
    sync(agent)
    assert waiting()["reason"] == "ErrImagePull" and "nowhere/img:1" in waiting()["message"]
    sync(agent)
    assert waiting()["reason"] == "ImagePullBackOff"
    assert api.pod("web")["status"]["phase"] == "Pending"
    clock.t += 11  # the back-off is over: the pull is tried (and fails) again
    sync(agent)
    assert waiting()["reason"] == "ErrImagePull"


def test_missing_configmap_is_create_container_config_error(env):
    api, rt, agent, _ = env
    add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                              "imagePullPolicy": "Never", "envFrom": [
                                  {"configMapRef": {"name": "absent"}}]}])
    sync(agent)
    sync(agent)
    waiting = api.pod("web")["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError",
                       "message": 'configmap "absent" not found'}


def test_failing_exec_liveness_probe_restarts_the_container(env):
    api, rt, agent, _ = env
    rt.exec_results["app"] = (1, "unhealthy")
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    uid = add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                                    "imagePullPolicy": "Never", "livenessProbe": probe}])["metadata"]["uid"]
    sync(agent)
    first = rt.app(uid, "app").id
    sync(agent)  # starts the prober, which fails at once (no initial delay)
    wait_until(lambda: first in agent.probes.unhealthy(), 5, what="liveness failure")
    rt.exec_results["app"] = (0, "")
    sync(agent)  # kills it
    sync(agent)  # restarts it (first restart: no back-off)
    assert rt.app(uid, "app").attempt == 1 and rt.app(uid, "app").running


def test_pre_stop_hook_runs_before_sigterm(env):
    api, rt, agent, _ = env
    hook = {"exec": {"command": ["/bin/drain"]}}
    uid = add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                                    "imagePullPolicy": "Never",
                                    "lifecycle": {"preStop": hook}}])["metadata"]["uid"]
    sync(agent)
    cid = rt.app(uid, "app").id
    rt.stop_delays["app"] = 0.3
    api.delete("Pod", "web")
    sync(agent)
    assert (cid, ["/bin/drain"]) in rt.execs
    assert rt.stops[0][0] == cid and rt.stops[0][1] >= 2
    assert rt.specs[rt.stopped[-1]].labels[podspec.LABEL_CONTAINER_TYPE] == "infra", \
        "the sandbox stops only after the app has finished stopping"
    assert api.pod("web") is None


def test_a_deleted_node_registers_again_on_the_next_heartbeat(env):
    api, rt, agent, _ = env
    del api.objects[("Node", "", "n1")]
    wait_until(lambda: ("Node", "", "n1") in api.objects, 5, what="node registered again")
    node = api.get("Node", "n1", namespace=None)
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "n1"


def test_node_is_not_ready_while_the_runtime_is_down(env):
    api, rt, agent, _ = env

    def ready() -> str:
        node = api.get("Node", "n1", namespace=None)
        return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")["status"]

    def down() -> str:
        raise ConnectionError("docker.sock: no such file")
    rt.version = down  # type: ignore[method-assign]
    wait_until(lambda: ready() == "False", 5, what="NotReady")
    del rt.version
    wait_until(lambda: ready() == "True", 5, what="Ready again")


def test_the_pod_informer_wakes_the_loop_but_not_for_our_own_status_writes(env):
    api, _, agent, _ = env
    assert agent.pods.wait_for_sync(5)
    add_pod(api)
    wait_until(agent.wake.is_set, 5, what="a wake-up for the new pod")
    agent.wake.clear()
    sync(agent)  # writes the pod's status
    sync(agent)
    assert api.updates("update_status", "Pod") >= 1
    wait_until(lambda: api.pod("web")["metadata"]["resourceVersion"] in
               {p["metadata"]["resourceVersion"] for p in agent.pods.list()}, 5,
               what="the informer to see our last write")
    assert not agent.wake.is_set()
    api.update_status(api.pod("web"))  # someone else writes: wake
    wait_until(agent.wake.is_set, 5, what="a wake-up for a foreign write")


def test_a_new_pod_starts_from_its_watch_event_without_waiting_for_a_pass(env):
    api, rt, agent, _ = env
    sync(agent)  # the first pass: from now on the agent knows the node's containers
    uid = add_pod(api)["metadata"]["uid"]
    wait_until(lambda: getattr(rt.app(uid, "app"), "running", False), 5,
               what="the app started by the watch event")
    assert agent.wait_idle()
    sync(agent)  # the pass that follows finds it started and leaves it be
    assert rt.app(uid, "app").attempt == 0
    assert len(rt.list_containers({podspec.LABEL_POD_UID: uid})) == 2


def test_the_container_creating_write_does_not_hold_up_the_start(env):
    api, rt, agent, _ = env

    release, writes = threading.Event(), []
    update_status = api.update_status

    def slow_update_status(obj):
        writes.append(obj["status"])
        release.wait(10)  # the API is slow to answer
        return update_status(obj)
    api.update_status = slow_update_status  # type: ignore[method-assign]
    rt.pullable.add("nginx:pulled")  # a pull: ContainerCreating is written
    uid = add_pod(api, containers=[{"name": "app", "image": "nginx:pulled",
                                    "imagePullPolicy": "IfNotPresent"}])["metadata"]["uid"]
    agent.sync_once()
    try:
        wait_until(lambda: getattr(rt.app(uid, "app"), "running", False), 5,
                   what="the app started while ContainerCreating is being written")
    finally:
        release.set()
    assert agent.wait_idle()
    waiting = writes[0]["containerStatuses"][0]["state"]["waiting"]
    assert waiting["reason"] == "ContainerCreating"
    st = api.pod("web")["status"]
    assert st["phase"] == "Running", "the written ContainerCreating did not come last"


def plain_agent(tmp_path, **config) -> tuple[FakeApi, FakeRuntime, Agent]:
    """An agent of node n1 on a fake API and runtime, not started."""
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"},
                "spec": {"podCIDR": "10.244.7.0/24"}})
    rt = FakeRuntime()
    cfg = AgentConfig(node=NodeConfig("n1", "10.250.0.11", 0), data_dir=str(tmp_path),
                      manage_network=False, serve_logs=False, run_proxy=False, **config)
    return api, rt, Agent(cfg, api, rt)  # type: ignore[arg-type]


def test_before_the_first_pass_a_watch_event_starts_nothing(tmp_path):
    api, rt, agent = plain_agent(tmp_path)
    try:
        assert agent.start()
        pod = add_pod(api)
        agent._pod_changed(None, pod)  # as the informer delivers it
        assert agent.wait_idle()
        assert rt.list_containers({podspec.LABEL_POD_UID: pod["metadata"]["uid"]}) == []
    finally:
        agent.stop()
        agent.shutdown()


def test_a_pod_record_is_dropped_once_its_pod_and_containers_are_gone(env):
    api, rt, agent, _ = env
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)
    assert uid in agent._records and agent._records[uid].first_seen is not None
    api.delete("Pod", "web")
    sync(agent)  # stops and deletes the pod
    sync(agent)
    assert rt.list_containers({podspec.LABEL_POD_UID: uid}) == []
    assert uid not in agent._records


def test_shutdown_joins_every_thread_and_none_died(env):
    _, _, agent, _ = env
    names = {"heartbeat", "proxy-revision", "stats", "pod-informer"}
    assert names <= {t.name for t in threading.enumerate()}
    agent.stop()
    agent.shutdown()
    assert agent.threads.join(0) == [] and agent.threads.died == []
    assert not names & {t.name for t in threading.enumerate()}


def test_the_agent_does_not_start_without_netproxy():
    """No fallback: a build whose netproxy cannot be imported fails at start."""
    import subprocess
    import sys
    code = "import sys; sys.modules['netproxy.proxy'] = None; import node.agent"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 and "netproxy" in result.stderr


def test_passes_between_relists_use_the_watch_and_orphans_are_confirmed_by_a_list(env):
    api, rt, agent, _ = env
    agent.config.pod_relist_period = 3600
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)  # the fixture's start listed nothing yet: this pass lists
    assert api.list_versions[-1] == "0", "a routine list comes from the watch cache"
    api.calls.clear()
    for _ in range(3):
        sync(agent)
    assert api.updates("list", "Pod") == 0, "no LIST of pods while the watch is current"
    app = rt.app(uid, "app")
    assert app is not None and app.running
    # Containers of a pod the agent never knew (its informer may come from a lagging
    # master after a restart): orphans only on a consistent list's word.
    spec = rt.specs[app.id]
    stray = rt.run(dataclasses.replace(spec, name="stray",
                                       labels={**spec.labels, podspec.LABEL_POD_UID: "unknown"}))
    listed = len(api.list_versions)
    sync(agent)
    assert rt.inspect(stray) is None
    assert None in api.list_versions[listed:], "orphans are removed on a consistent list only"
    assert rt.app(uid, "app").running


def test_a_deleted_pod_is_cleared_by_a_pass_over_it_alone(tmp_path):
    # no full pass but the first: what clears the pod is the pass its deletion asks for
    api, rt, agent = plain_agent(tmp_path, sync_period=3600, pod_relist_period=3600)
    loop = threading.Thread(target=agent.run, name="agent-loop")  # its own loop this time
    loop.start()
    try:
        web = add_pod(api)["metadata"]["uid"]
        db = add_pod(api, "db")["metadata"]["uid"]
        wait_until(lambda: all((api.pod(n) or {}).get("status", {}).get("phase") == "Running"
                               for n in ("web", "db")), 10, what="both pods Running")
        assert agent.wait_idle()
        with agent._records_lock:
            db_synced = agent._records[db].done_at
        api.calls.clear()
        api.delete("Pod", "web", grace_period=0)  # gone at once, its containers running
        wait_until(lambda: not rt.list_containers({podspec.LABEL_POD_UID: web})
                   and web not in agent._records, 10, what="web's containers and record gone")
        assert agent.wait_idle()
        assert rt.app(db, "app").running and agent._records[db].done_at == db_synced, \
            "the other pod was not synced again"
        assert api.updates("list", "Pod") == 0, "a delete event is the API's word on its uid"
    finally:
        agent.stop()
        loop.join(15)


def test_a_failed_list_is_retried_on_the_next_pass(env):
    api, _, agent, _ = env
    agent.config.pod_relist_period = 3600
    api.reachable = False
    sync(agent)
    api.reachable = True
    api.calls.clear()
    sync(agent)
    assert api.updates("list", "Pod") == 1


def test_a_new_pod_is_reported_creating_then_running_without_a_conflict(env):
    """While an image is pulled the pod is reported ContainerCreating first; the
    worker's second status write starts from what its first one stored, not from
    the pod it was handed (stale by then): no Conflict, no re-read."""
    api, rt, agent, _ = env
    rt.pullable.add("nginx:pulled")
    add_pod(api, containers=[{"name": "app", "image": "nginx:pulled",
                              "imagePullPolicy": "IfNotPresent"}])
    gets, puts = api.updates("get", "Pod"), api.updates("update_status", "Pod")
    sync(agent)
    states = [s.get("state") for v in api.history("Pod", "web")
              for s in (v.get("status") or {}).get("containerStatuses") or []]
    assert {"waiting": {"reason": "ContainerCreating"}} in states
    assert "running" in states[-1]
    assert api.updates("update_status", "Pod") - puts == 2
    assert api.updates("get", "Pod") == gets


def test_a_pod_whose_images_are_present_goes_from_pending_to_running_and_ready_in_one_write(env):
    """No ContainerCreating write when nothing is pulled, and a container without
    probes is ready in the status that first shows it running (kubelet's way),
    not in a second write once the probers have caught up."""
    api, _rt, agent, _ = env
    add_pod(api)
    puts = api.updates("update_status", "Pod")
    sync(agent)
    st = api.pod("web")["status"]
    assert st["phase"] == "Running" and st["containerStatuses"][0]["ready"] is True
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "True"
    sync(agent)
    sync(agent)
    assert api.updates("update_status", "Pod") - puts == 1


def test_usage_figures_go_on_the_lease_report_never_into_the_pod_status(env):
    """A busy container's CPU moves at every sample; writing it to the pod would
    be a Raft write per pod per stats period (Kubernetes keeps usage out of
    etcd too: metrics-server holds it in memory)."""
    api, rt, agent, _ = env
    add_pod(api)
    sync(agent)
    app = next(c for c in rt.list_containers({}) if not c.is_infra)
    uid = api.pod("web")["metadata"]["uid"]
    puts = api.updates("update_status", "Pod")
    for cpu in (0, 10**6):  # two samples: a rate is known
        rt.usage[app.id] = (cpu, 10 * 2**20)
        agent.stats.sample()
    sync(agent)
    assert api.updates("update_status", "Pod") == puts
    assert "usage" not in api.pod("web")["status"]
    report = agent.stats.report()  # what the heartbeat puts on the Lease
    assert report is not None and report.pods[uid]["app"][1] == 10 * 2**20


def test_usage_an_older_agent_wrote_into_a_pod_status_goes_with_its_next_write(env):
    api, rt, agent, _ = env
    add_pod(api)
    sync(agent)
    pod = api.pod("web")
    pod["status"]["usage"] = {"cpu": "5m", "memory": "1Mi"}
    api.update_status(pod)
    app = next(c for c in rt.list_containers({}) if not c.is_infra)
    rt.exit(app.id, 1)  # a restart: news of its own
    sync(agent)
    st = api.pod("web")["status"]
    assert st["containerStatuses"][0]["restartCount"] == 1 and "usage" not in st


def test_a_container_with_a_readiness_probe_is_not_ready_before_it_is_probed(env):
    api, _rt, agent, _ = env
    add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                              "imagePullPolicy": "IfNotPresent",
                              "readinessProbe": {"exec": {"command": ["false"]},
                                                 "periodSeconds": 3600}}])
    sync(agent)
    st = api.pod("web")["status"]
    assert st["phase"] == "Running" and st["containerStatuses"][0]["ready"] is False


def events_of(api: FakeApi, agent: Agent, reason: str) -> list[dict]:
    agent.events.flush()
    return [e for (kind, _, _), e in list(api.objects.items())
            if kind == "Event" and e["reason"] == reason]


def test_a_crash_loop_makes_one_back_off_event_whose_count_grows(env):
    api, rt, agent, clock = env
    uid = add_pod(api)["metadata"]["uid"]
    sync(agent)
    for _ in range(3):
        rt.exit(rt.app(uid, "app").id, 1)
        for _ in range(3):
            sync(agent)
            clock.t += 11  # past the write interval, but not past the back-off
    [backoff] = events_of(api, agent, "BackOff")
    assert backoff["count"] > 1 and backoff["type"] == "Warning"
    assert backoff["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert backoff["message"].startswith("Back-off restarting failed container app in pod")
    assert backoff["source"] == {"component": "kubelet", "host": "n1"}
    [started] = events_of(api, agent, "Started")
    assert started["count"] >= 2 and started["message"] == "Started container app"
    assert events_of(api, agent, "Created")


def test_a_pod_start_makes_one_pulled_created_and_started_event_each(env):
    """As kubelet's: the sandbox borrowing the pod's image (no pause image)
    adds no Pulled of its own to the container's."""
    api, _, agent, _ = env
    agent.executor.pause_image = None  # as on a node that could not build one
    add_pod(api)
    sync(agent)
    for reason in ("Pulled", "Created", "Started"):
        events = events_of(api, agent, reason)
        assert [e["count"] for e in events] == [1], reason
    assert 'already present on machine' in events_of(api, agent, "Pulled")[0]["message"]


def test_an_unpullable_image_makes_pulling_and_failed_events_with_the_reason(env):
    api, rt, agent, clock = env
    add_pod(api, containers=[{"name": "app", "image": "nowhere/img:1",
                              "imagePullPolicy": "IfNotPresent"}])
    sync(agent)
    sync(agent)
    [failed] = events_of(api, agent, "Failed")
    assert failed["message"] == ('Failed to pull image "nowhere/img:1": pull access denied for '
                                 "nowhere/img:1: registry unreachable")
    assert failed["type"] == "Warning"
    assert events_of(api, agent, "Pulling")[0]["message"] == 'Pulling image "nowhere/img:1"'
    assert events_of(api, agent, "BackOff")[0]["message"] == 'Back-off pulling image "nowhere/img:1"'


def test_a_failing_liveness_probe_makes_unhealthy_and_killing_events(env):
    api, rt, agent, _ = env
    rt.exec_results["app"] = (1, "disk full")
    probe = {"exec": {"command": ["false"]}, "periodSeconds": 1, "failureThreshold": 1}
    uid = add_pod(api, containers=[{"name": "app", "image": "busybox:test",
                                    "imagePullPolicy": "Never", "livenessProbe": probe}])["metadata"]["uid"]
    sync(agent)
    first = rt.app(uid, "app").id
    sync(agent)
    wait_until(lambda: first in agent.probes.unhealthy(), 5, what="liveness failure")
    sync(agent)  # kills it
    [unhealthy] = events_of(api, agent, "Unhealthy")
    assert unhealthy["message"] == "Liveness probe failed: exec probe exited 1: disk full"
    [killing] = events_of(api, agent, "Killing")
    assert killing["message"] == "Container app failed liveness probe, will be restarted"


def test_a_volume_mount_of_no_volume_makes_a_failed_mount_event(env):
    api, rt, agent, _ = env
    add_pod(api, containers=[{"name": "app", "image": "busybox:test", "imagePullPolicy": "Never",
                              "volumeMounts": [{"name": "data", "mountPath": "/data"}]}])
    sync(agent)
    [mount] = events_of(api, agent, "FailedMount")
    assert "volumeMount 'data' names no volume of a supported type" in mount["message"]


def test_the_node_reports_node_ready_on_its_first_status_write(env):
    api, rt, agent, _ = env
    wait_until(lambda: events_of(api, agent, "NodeReady"), 5, what="a NodeReady event")
    [ready] = events_of(api, agent, "NodeReady")
    assert ready["involvedObject"]["kind"] == "Node" and ready["metadata"]["namespace"] == "default"
    assert ready["message"] == "Node n1 status is now: NodeReady"


def test_the_agent_evicts_a_pod_over_its_limit_and_stops_it(env):
    api, rt, agent, _ = env
    uid = add_pod(api, volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Mi"}}],
                  restartPolicy="Always")["metadata"]["uid"]
    sync(agent)
    sync(agent)
    assert rt.app(uid, "app").running
    path = podspec.empty_dir_path(agent.config.data_dir, uid, "scratch")
    with open(os.path.join(path, "fill"), "wb") as f:
        f.write(os.urandom(2 * 1024 * 1024))
    agent.emptydirs.sample()
    sync(agent)
    sync(agent)
    st = api.pod("web")["status"]
    assert (st["phase"], st["reason"]) == ("Failed", "Evicted")
    assert st["message"] == 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".'
    assert not rt.app(uid, "app").running  # stopped, not restarted despite Always
    [event] = events_of(api, agent, "Evicted")
    assert event["type"] == "Warning" and event["message"] == st["message"]
    assert event["involvedObject"]["name"] == "web"


def settled(api: FakeApi, agent: Agent, *names: str) -> None:
    """Wait until the informer holds each pod as the API has it (our own writes in)."""
    wait_until(lambda: {api.pod(n)["metadata"]["resourceVersion"] for n in names} <=
               {p["metadata"]["resourceVersion"] for p in agent.pods.list()}, 5,
               what="the informer to catch up")


def two_pods_synced(api: FakeApi, agent: Agent) -> tuple[str, str]:
    """Pods a and b running after a full pass; passes are driven by hand and
    no full one falls due on its own."""
    agent.config.sync_period = 3600
    assert agent.pods.wait_for_sync(5)
    ua, ub = (add_pod(api, n)["metadata"]["uid"] for n in ("a", "b"))
    settled(api, agent, "a", "b")
    agent.wake.clear()  # as the loop does, before it takes the scope
    assert agent._take_scope() is None  # the first pass looks at every pod
    sync(agent)
    settled(api, agent, "a", "b")
    return ua, ub


def test_a_pod_change_wakes_the_loop_for_that_pod_alone(env):
    api, _, agent, _ = env
    ua, _ub = two_pods_synced(api, agent)
    synced: list[str] = []
    sync_pod = agent.sync_pod
    agent.sync_pod = lambda task: (synced.append(task.uid), sync_pod(task))  # type: ignore[method-assign]
    api.update_status(api.pod("a"))  # someone else writes
    wait_until(agent.wake.is_set, 5, what="a wake-up for pod a")
    only = agent._take_scope()
    assert only == {ua}
    agent.sync_once(only)
    assert agent.wait_idle()
    assert synced == [ua]
    assert agent._take_scope() == set()  # the pass's own writes asked for nothing more


def test_a_pod_changed_while_its_worker_is_busy_is_synced_once_it_is_done(env):
    api, _, agent, _ = env

    ua, _ub = two_pods_synced(api, agent)
    entered, release = threading.Event(), threading.Event()
    sync_pod = agent.sync_pod

    def held(task) -> None:
        entered.set()
        release.wait(10)
        sync_pod(task)
    agent.sync_pod = held  # type: ignore[method-assign]
    api.update_status(api.pod("a"))
    wait_until(agent.wake.is_set, 5, what="a wake-up for pod a")
    agent.wake.clear()
    agent.sync_once(agent._take_scope())
    assert entered.wait(5)  # pod a's worker is busy
    api.update_status(api.pod("a"))  # a change it may not see
    wait_until(agent.wake.is_set, 5, what="a wake-up for the second change")
    agent.wake.clear()
    agent.sync_once(agent._take_scope())  # busy: nothing starts now ...
    assert not agent.wake.is_set()
    release.set()
    wait_until(agent.wake.is_set, 5, what="a wake-up once the worker was done")
    assert agent._take_scope() == {ua}  # ... but the pod is synced again after it
