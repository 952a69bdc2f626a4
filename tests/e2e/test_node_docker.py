"""The node agent against real Docker (the host dockerd), with an in-process fake API.

Each test gets its own node name, Docker network and pod CIDR; every container
carries ``coxswain.test=<uuid>`` and is removed by the fixture, with the network.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid

import docker
import docker.errors
import pytest
import requests

from node import podspec
from node.agent import Agent, AgentConfig
from node.registration import NodeConfig
from node.runtime import DockerRuntime
from node.testing import TEST_IMAGE, FakeApi, build_test_image, make_pod
from tests.support import free_port, wait_until

pytestmark = pytest.mark.e2e
TOKEN = "node-token-for-tests"
PULL_REASONS = ("ErrImagePull", "ImagePullBackOff")


@pytest.fixture(scope="module")
def docker_api():
    try:
        api = docker.APIClient(version="auto")
        api.ping()
    except docker.errors.DockerException as e:
        pytest.skip(f"no Docker: {e}")
    build_test_image(api)
    yield api
    api.close()


class NodeEnv:
    def __init__(self, api: FakeApi, agent: Agent, runtime: DockerRuntime, docker_api,
                 port: int) -> None:
        self.api, self.agent, self.runtime, self.docker, self.port = (
            api, agent, runtime, docker_api, port)
        self.thread = threading.Thread(target=agent.run, daemon=True)

    def add_pod(self, name: str, containers: list[dict], **spec) -> dict:
        for c in containers:
            c.setdefault("image", TEST_IMAGE)
            c.setdefault("imagePullPolicy", "IfNotPresent")
        spec.setdefault("terminationGracePeriodSeconds", 5)
        return self.api.create(make_pod(name, self.agent.name, containers, **spec))

    def status(self, name: str) -> dict:
        return (self.api.pod(name) or {}).get("status") or {}

    def container(self, name: str, container: str) -> dict:
        return next((c for c in self.status(name).get("containerStatuses") or []
                     if c["name"] == container), {})

    def running(self, name: str) -> bool:
        return self.status(name).get("phase") == "Running"

    def ready(self, name: str) -> bool:
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in self.status(name).get("conditions") or [])

    def logs(self, pod: str, container: str, token: str = TOKEN, **params) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{self.port}/containerLogs/default/{pod}/{container}",
                            params=params, headers={"Authorization": f"Bearer {token}"},
                            timeout=10, stream=bool(params.get("follow")))


@pytest.fixture
def make_env(docker_api, tmp_path):
    test_id = uuid.uuid4().hex[:10]
    created: list[NodeEnv] = []
    network = f"coxt-{test_id}"

    def make(start: bool = True, api: FakeApi | None = None) -> NodeEnv:
        """A node agent; pass the ``api`` of an earlier one to restart that node."""
        name = f"e2e-{test_id}"
        if api is None:
            api = FakeApi()
            cidr = f"10.{random.randint(200, 230)}.{random.randint(0, 255)}.0/24"
            api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                        "spec": {"podCIDR": cidr}})
            api.create({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": "greeting", "namespace": "default"},
                        "data": {"GREETING": "hello-from-configmap"}})
        port = free_port()
        cfg = AgentConfig(node=NodeConfig(name, "127.0.0.1", port), data_dir=str(tmp_path),
                          token=TOKEN, pod_network=network, sync_period=0.5, stats_period=1.0,
                          heartbeat_period=1.0, manage_network=False, run_proxy=False,
                          extra_labels={"coxswain.test": test_id})
        runtime = DockerRuntime(network=network)
        # No master to ask about other tokens here: only the node's own is accepted.
        agent = Agent(cfg, api, runtime,  # type: ignore[arg-type]
                      authenticate=lambda token: token == TOKEN)
        env = NodeEnv(api, agent, runtime, docker_api, port)
        created.append(env)
        if start:
            env.thread.start()
            wait_until(lambda: agent.log_server is not None, 30, what="agent start")
        return env

    yield make
    for env in created:
        env.agent.stop()
        env.thread.join(timeout=30)
    for c in docker_api.containers(all=True, filters={"label": f"coxswain.test={test_id}"}):
        docker_api.remove_container(c["Id"], force=True)
    for net in docker_api.networks(names=[network]):
        if net["Name"] == network:
            docker_api.remove_network(net["Id"])


def test_pod_containers_share_localhost_an_empty_dir_and_get_configmap_env(make_env):
    env = make_env()
    pod = env.add_pod("share", [
        {"name": "server", "command": ["/bin/sh", "-c",
                                       "echo served-over-localhost > /shared/index.html; "
                                       "exec httpd -f -p 8081 -h /shared"],
         "volumeMounts": [{"name": "shared", "mountPath": "/shared"}]},
        {"name": "client", "command": ["/bin/sh", "-c",
                                       "until [ -f /shared/index.html ]; do sleep 0.1; done; "
                                       "echo vol:$(cat /shared/index.html); "
                                       "until wget -qO /tmp/o http://127.0.0.1:8081/; "
                                       "do sleep 0.2; done; echo net:$(cat /tmp/o); "
                                       "echo env:$GREETING; exec sleep 3600"],
         "envFrom": [{"configMapRef": {"name": "greeting"}}],
         "volumeMounts": [{"name": "shared", "mountPath": "/shared", "readOnly": True}],
         "resources": {"limits": {"cpu": "250m", "memory": "32Mi"}}},
    ], volumes=[{"name": "shared", "emptyDir": {}}])
    wait_until(lambda: env.running("share") and env.ready("share"), 30, what="pod running")
    def client_output() -> str | None:
        text = env.logs("share", "client").text
        return text if "env:" in text else None
    out = wait_until(client_output, 20, what="client output")
    assert "vol:served-over-localhost" in out
    assert "net:served-over-localhost" in out
    assert "env:hello-from-configmap" in out
    st = env.status("share")
    assert st["podIP"].startswith(env.api.get("Node", env.agent.name, None)["spec"]["podCIDR"]
                                  .rsplit(".", 1)[0])
    client = env.container("share", "client")
    host = env.docker.inspect_container(client["containerID"].removeprefix("docker://"))
    assert host["HostConfig"]["NanoCpus"] == 250_000_000
    assert host["HostConfig"]["Memory"] == 32 * 2**20
    assert host["Config"]["Labels"][podspec.LABEL_POD_NAME] == "share"
    # Real usage figures from Docker's stats reach the report the Lease carries.
    def figures() -> dict | None:
        report = env.agent.stats.report()
        return report.pods.get(pod["metadata"]["uid"]) if report is not None else None
    containers = wait_until(figures, 20, what="the pod's usage in the agent's report")
    assert set(containers) == {"server", "client"}
    assert all(cpu >= 0 and memory > 0 for cpu, memory in containers.values())
    assert "usage" not in env.status("share")
    # The emptyDir lives under the data dir and goes with the pod.
    vol = podspec.empty_dir_path(env.agent.config.data_dir, pod["metadata"]["uid"], "shared")
    assert os.path.isfile(os.path.join(vol, "index.html"))
    env.api.delete("Pod", "share", grace_period=1)
    wait_until(lambda: env.api.pod("share") is None, 20, what="pod deleted")
    assert not os.path.exists(vol)


def test_container_killed_from_outside_is_restarted_and_counted(make_env):
    env = make_env()
    env.add_pod("crashy", [{"name": "app", "command": ["/bin/sh", "-c", "exec sleep 3600"]}])
    wait_until(lambda: env.container("crashy", "app").get("ready"), 30, what="app ready")
    first = env.container("crashy", "app")["containerID"].removeprefix("docker://")
    env.docker.kill(first)
    wait_until(lambda: env.container("crashy", "app").get("restartCount") == 1
               and "running" in env.container("crashy", "app")["state"], 20,
               what="restartCount 1 and running again")
    cs = env.container("crashy", "app")
    assert cs["containerID"] != f"docker://{first}"
    assert cs["lastState"]["terminated"]["exitCode"] == 137


def test_failing_liveness_probe_restarts_and_readiness_flips_ready(make_env):
    env = make_env()
    env.add_pod("probed", [
        {"name": "web", "command": ["/bin/sh", "-c", "exec httpd -f -p 8080 -h /www"],
         "ports": [{"name": "http", "containerPort": 8080}],
         "readinessProbe": {"httpGet": {"path": "/ready.html", "port": "http"},
                            "periodSeconds": 1, "failureThreshold": 1}},
        {"name": "sick", "command": ["/bin/sh", "-c", "exec sleep 3600"],
         "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]},
                           "periodSeconds": 1, "failureThreshold": 2}},
    ], terminationGracePeriodSeconds=1)
    wait_until(lambda: "running" in env.container("probed", "web").get("state", {}), 30,
               what="web running")
    assert not env.ready("probed")
    web_id = env.container("probed", "web")["containerID"].removeprefix("docker://")
    ex = env.docker.exec_create(web_id, ["sh", "-c", "echo ok > /www/ready.html"])
    env.docker.exec_start(ex["Id"])
    wait_until(lambda: env.container("probed", "web").get("ready"), 15, what="web ready")
    ex = env.docker.exec_create(web_id, ["rm", "/www/ready.html"])
    env.docker.exec_start(ex["Id"])
    wait_until(lambda: env.container("probed", "web").get("ready") is False, 15,
               what="web unready again")
    wait_until(lambda: env.container("probed", "sick").get("restartCount", 0) >= 1, 30,
               what="liveness restart")


def test_graceful_delete_runs_pre_stop_then_sigterm_then_removes_everything(make_env, tmp_path):
    env = make_env()
    marks = tmp_path / "marks"
    marks.mkdir()
    pod = env.add_pod("graceful", [{"name": "app", "command": [
        "/bin/sh", "-c",
        "trap 'echo got-TERM > /marks/term; exit 0' TERM; echo started > /marks/start; "
        "while :; do sleep 0.2; done"],
        "lifecycle": {"preStop": {"exec": {"command": [
            "/bin/sh", "-c", "[ ! -f /marks/term ] && echo before-TERM > /marks/prestop"]}}},
        "volumeMounts": [{"name": "marks", "mountPath": "/marks"}]}],
        volumes=[{"name": "marks", "hostPath": {"path": str(marks)}}],
        terminationGracePeriodSeconds=10)
    wait_until(lambda: (marks / "start").exists() and env.ready("graceful"), 30,
               what="pod started")
    t0 = time.monotonic()
    env.api.delete("Pod", "graceful")
    wait_until(lambda: env.api.pod("graceful") is None, 20, what="pod object deleted")
    assert (marks / "prestop").read_text().strip() == "before-TERM"
    assert (marks / "term").read_text().strip() == "got-TERM"
    assert time.monotonic() - t0 < 8, "a container that exits on SIGTERM is not waited for"
    left = env.docker.containers(all=True, filters={
        "label": f"{podspec.LABEL_POD_UID}={pod['metadata']['uid']}"})
    assert left == []


def test_unpullable_image_gives_err_image_pull_then_image_pull_back_off(make_env):
    env = make_env()
    env.add_pod("nopull", [{"name": "app", "image": "coxswain-test/absent:1",
                            "imagePullPolicy": "IfNotPresent"}])
    def reasons() -> list[str]:
        """Image-pull waiting reasons of every status the agent wrote, in order, without repeats."""
        out: list[str] = []
        for version in env.api.history("Pod", "nopull"):
            for cs in (version.get("status") or {}).get("containerStatuses") or []:
                reason = (cs["state"].get("waiting") or {}).get("reason")
                if reason in PULL_REASONS and (not out or out[-1] != reason):
                    out.append(reason)
        return out
    wait_until(lambda: reasons()[:3] == ["ErrImagePull", "ImagePullBackOff", "ErrImagePull"],
               30, what="ErrImagePull, ImagePullBackOff, then a new pull after 10 s")
    assert env.status("nopull")["phase"] == "Pending"
    assert "coxswain-test/absent:1" in env.container("nopull", "app")["state"]["waiting"][
        "message"]


def test_orphaned_containers_are_cleaned_on_start(make_env):
    env = make_env(start=False)
    labels = {podspec.LABEL_MANAGED: "true", podspec.LABEL_NODE: env.agent.name,
              podspec.LABEL_POD_UID: "no-such-pod", podspec.LABEL_CONTAINER_NAME: "ghost",
              podspec.LABEL_CONTAINER_TYPE: "app", podspec.LABEL_GRACE: "1"} | \
        env.agent.config.extra_labels
    ghost = env.docker.create_container(TEST_IMAGE, ["sleep", "3600"], labels=labels,
                                        name=f"cox_ghost_{env.agent.name}")
    env.docker.start(ghost["Id"])
    env.thread.start()
    wait_until(lambda: not env.docker.containers(all=True, filters={"id": ghost["Id"]}), 30,
               what="orphan removed")


def test_logs_endpoint_tail_follow_and_auth(make_env):
    env = make_env()
    env.add_pod("talker", [{"name": "app", "command": [
        "/bin/sh", "-c", "for i in 1 2 3 4 5; do echo line-$i; done; "
        "while [ ! -f /tmp/go ]; do sleep 0.1; done; echo after-follow; exec sleep 3600"]}])
    wait_until(lambda: "line-5" in env.logs("talker", "app").text, 30, what="output")
    assert env.logs("talker", "app", token="wrong").status_code == 401
    assert env.logs("talker", "app", tailLines=2).text.split() == ["line-4", "line-5"]
    assert env.logs("talker", "nope").status_code == 404
    resp = env.logs("talker", "app", follow="true")
    lines = resp.iter_lines(decode_unicode=True)
    assert [next(lines) for _ in range(5)] == [f"line-{i}" for i in range(1, 6)]
    cid = env.container("talker", "app")["containerID"].removeprefix("docker://")
    env.docker.exec_start(env.docker.exec_create(cid, ["touch", "/tmp/go"])["Id"])
    assert next(lines) == "after-follow"
    resp.close()


def test_a_restarted_agent_adopts_running_pods_without_restarting_or_unreadying_them(make_env):
    first = make_env()
    first.add_pod("steady", [{"name": "web", "command": ["/bin/sh", "-c",
                                                          "exec httpd -f -p 8080 -h /www"],
                              # A slow check: its first verdict comes after the first sync.
                              "readinessProbe": {"exec": {"command": [
                                  "/bin/sh", "-c", "sleep 0.5; test -d /www"]},
                                  "periodSeconds": 1, "timeoutSeconds": 3}}])
    wait_until(lambda: first.ready("steady"), 30, what="pod ready")
    before = first.container("steady", "web")["containerID"]
    first.agent.stop()
    first.thread.join(30)
    versions = len(first.api.history("Pod", "steady"))
    second = make_env(api=first.api)
    wait_until(lambda: second.agent.syncs >= 5, 20, what="five sync passes")
    assert second.container("steady", "web")["containerID"] == before
    assert second.container("steady", "web")["restartCount"] == 0
    later = first.api.history("Pod", "steady")[versions:]
    assert all(any(c["type"] == "Ready" and c["status"] == "True"
                   for c in v["status"]["conditions"]) for v in later), "never unready"
