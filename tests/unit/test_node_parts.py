"""Smaller parts of the agent: stats arithmetic, token cache, heartbeat, registration
objects and the ``cox node run`` command line."""

from __future__ import annotations

import threading
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coxapi import jwt
from coxapi.usagereport import pod_totals
from node import podspec
from node.command import node as node_group
from node.heartbeat import LEASE_NAMESPACE, Heartbeat
from node.logserver import MasterTokens, TokenCache, create_app
from node.registration import MachineInfo, NodeConfig, Taint, node_object
from node.runtime import ContainerInfo
from node.stats import StatsCollector, busy_seconds, cpu_nanocores, usage
from node.testing import FakeApi, FakeRuntime


def test_cpu_rate_between_two_samples():
    assert cpu_nanocores(None, (5.0, 10.0)) is None
    # 0.5 s of CPU time over 2 s of wall time = a quarter of a core.
    assert cpu_nanocores((1.0, 10.0), (1.5, 12.0)) == 250_000_000
    assert cpu_nanocores((2.0, 10.0), (1.0, 12.0)) is None  # counter reset: no figure


def test_usage_figures_are_rounded_quantities():
    assert usage(12, 3 * 2**20 + 5) == {"cpu": "12m", "memory": "3Mi"}
    assert usage(0, 1500) == {"cpu": "0m", "memory": "2Ki"}


def test_pod_usage_sums_its_containers_once_a_rate_is_known():
    rt = FakeRuntime()
    t = [0.0]
    cs = [ContainerInfo(n, n, {podspec.LABEL_POD_UID: "u1", podspec.LABEL_CONTAINER_TYPE: "app",
                               podspec.LABEL_CONTAINER_NAME: n}, "running") for n in "ab"]
    s = StatsCollector(rt, lambda: cs, clock=lambda: t[0])
    rt.usage = {"a": (0, 2**20), "b": (0, 2**20)}
    s.sample()
    assert s.report() is None  # one sample gives no rate yet
    t[0] = 1.0
    rt.usage = {"a": (100_000_000, 2**20), "b": (50_000_000, 3 * 2**20)}
    s.sample()
    report = s.report()
    assert report is not None
    assert report.pods["u1"] == {"a": (100_000_000, 2**20), "b": (50_000_000, 3 * 2**20)}
    assert pod_totals(report, "u1") == (150_000_000, 4 * 2**20)
    assert pod_totals(report, "other") is None
    # a container new to the pod has no rate yet: the pod waits for the next round
    cs.append(ContainerInfo("c", "c", {**cs[0].labels, podspec.LABEL_CONTAINER_NAME: "c"},
                            "running"))
    t[0] = 2.0
    rt.usage = {"a": (200_000_000, 2**20), "b": (100_000_000, 3 * 2**20), "c": (0, 2**20)}
    s.sample()
    report = s.report()
    assert report is not None and "u1" not in report.pods


def test_node_cpu_is_busy_time_from_proc_stat_over_wall_time():
    from collections import namedtuple
    Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")
    assert busy_seconds(Times(10, 1, 4, 100, 5, 1, 1, 0, 3, 0)) == 17  # guest is in user
    # 1.5 CPU seconds busy over 2 s of wall time: 0.75 cores.
    assert cpu_nanocores((10.0, 100.0), (11.5, 102.0)) == 750_000_000
    assert cpu_nanocores(None, (1.0, 1.0)) is None


def test_the_usage_report_has_the_node_and_each_container_once_rates_are_known():
    rt = FakeRuntime()
    t = [0.0]
    node = [(100.0, 2**30)]
    labels = {podspec.LABEL_POD_UID: "u1", podspec.LABEL_CONTAINER_TYPE: "app",
              podspec.LABEL_CONTAINER_NAME: "app"}
    cs = [ContainerInfo("a", "a", labels, "running")]
    s = StatsCollector(rt, lambda: cs, clock=lambda: t[0], node=lambda: node[0],
                       wall=lambda: 1_700_000_000.0)
    rt.usage = {"a": (0, 2**20)}
    s.sample()
    assert s.report() is None  # one sample gives no rate yet
    t[0], node[0] = 5.0, (105.0, 2**30)
    rt.usage = {"a": (1_250_000_000, 2**20)}
    s.sample()
    r = s.report()
    assert r is not None and r.timestamp == "2023-11-14T22:13:20.000000Z" and r.window == 5.0
    assert r.node == (1_000_000_000, 2**30)
    assert r.pods == {"u1": {"app": (250_000_000, 2**20)}}


def test_token_cache_accepts_own_token_and_remembers_master_verdicts():
    asked = []
    now = [0.0]

    def check(token: str) -> bool:
        asked.append(token)
        return token == "admin"
    cache = TokenCache("node-token", check, ttl=60, clock=lambda: now[0])
    assert cache("node-token") and asked == []
    assert cache("admin") and cache("admin") and asked == ["admin"]
    assert not cache("bogus") and not cache("")
    now[0] = 61
    assert cache("admin") and asked == ["admin", "bogus", "admin"]
def test_log_server_accepts_only_tokens_masters_signed_for_this_node():
    key = Ed25519PrivateKey.generate()
    fetched = []

    def fetch() -> dict:
        fetched.append(1)
        return jwt.public_keys({"keys": [jwt.jwk(key.public_key())]})
    now = [1000.0]
    accept = MasterTokens("n1", fetch, refresh=30, clock=lambda: now[0])

    def token(aud: str, exp: float = 1060, signer=key) -> str:
        return jwt.sign(signer, {"aud": aud, "exp": exp, "sub": "system:master:m1"})
    assert accept(token("coxswain:node:n1")) and fetched == [1]  # keys fetched on demand
    assert accept(token("coxswain:node:n1")) and fetched == [1]
    assert not accept(token("coxswain:node:n2")), "a token for another node"
    assert not accept(token("coxswain:node:n1", exp=999)), "an expired token"
    assert not accept("node-token") and not accept("")
    assert not accept(token("coxswain:node:n1", signer=Ed25519PrivateKey.generate()))
    assert fetched == [1], "an unknown key refetches at most every 30 s"


def test_logs_endpoint_refuses_missing_token_and_finds_the_latest_instance():
    rt = FakeRuntime()
    base = {podspec.LABEL_POD_NAMESPACE: "default", podspec.LABEL_POD_NAME: "web",
            podspec.LABEL_CONTAINER_NAME: "app", podspec.LABEL_CONTAINER_TYPE: "app"}
    rt.containers["old"] = ContainerInfo("old", "old", base | {podspec.LABEL_ATTEMPT: "0"},
                                         "exited")
    rt.containers["new"] = ContainerInfo("new", "new", base | {podspec.LABEL_ATTEMPT: "1"},
                                         "running")
    rt.output = {"old": b"before crash\n", "new": b"one\ntwo\nthree\n"}
    app = create_app(rt, lambda: rt.list_containers({}), lambda t: t == "ok")
    c = app.test_client()
    assert c.get("/containerLogs/default/web/app").status_code == 401
    ok = {"Authorization": "Bearer ok"}
    assert c.get("/containerLogs/default/web/app?tailLines=2", headers=ok).data == b"two\nthree\n"
    assert c.get("/containerLogs/default/web/app?previous=true",
                 headers=ok).data == b"before crash\n"
    assert c.get("/containerLogs/default/web/app?tailLines=x", headers=ok).status_code == 400
    assert c.get("/containerLogs/default/web/nope", headers=ok).status_code == 404


def test_logs_endpoint_applies_since_timestamps_and_limit_bytes():
    rt = FakeRuntime(clock=lambda: 1_700_000_000.0)
    base = {podspec.LABEL_POD_NAMESPACE: "default", podspec.LABEL_POD_NAME: "web",
            podspec.LABEL_CONTAINER_NAME: "app", podspec.LABEL_CONTAINER_TYPE: "app"}
    rt.containers["c"] = ContainerInfo("c", "c", base, "running", started_at=1_700_000_000.0)
    rt.output = {"c": b"one\ntwo\n"}
    c = create_app(rt, lambda: rt.list_containers({}), lambda t: t == "ok").test_client()
    ok = {"Authorization": "Bearer ok"}
    url = "/containerLogs/default/web/app"
    assert c.get(f"{url}?timestamps=true", headers=ok).data.splitlines()[0] == \
        b"2023-11-14T22:13:20.000000Z one"
    assert c.get(f"{url}?limitBytes=5", headers=ok).data == b"one\nt"
    # The output was written at 22:13:20: a later sinceTime shows none of it.
    assert c.get(f"{url}?sinceTime=2023-11-14T22:13:21Z", headers=ok).data == b""
    assert c.get(f"{url}?sinceTime=2023-11-14T22:13:19Z", headers=ok).data == b"one\ntwo\n"
    bad = c.get(f"{url}?sinceSeconds=5&sinceTime=2023-11-14T22:13:19Z", headers=ok)
    assert bad.status_code == 400 and "sinceSeconds, sinceTime" in bad.json["message"]
    assert c.get(f"{url}?limitBytes=0", headers=ok).status_code == 400


def test_heartbeat_survives_an_unreachable_api_and_resumes():
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {}})
    hb = Heartbeat(api, "n1", lambda: {"cpu": "1m", "memory": "1Mi"}, period=0.01)  # type: ignore[arg-type]
    api.reachable = False
    stop = threading.Event()
    t = threading.Thread(target=hb.run, args=(stop,))
    t.start()
    try:
        from tests.support import wait_until
        wait_until(lambda: api.updates("get", "Lease") >= 3, 5, what="retries while offline")
        assert hb.beats == 0
        api.reachable = True
        wait_until(lambda: hb.beats >= 2, 5, what="heartbeats after the API is back")
    finally:
        stop.set()
        t.join(5)
    assert api.get("Lease", "n1", LEASE_NAMESPACE)["spec"]["leaseDurationSeconds"] == 40


def test_heartbeat_renews_from_its_own_lease_and_writes_node_status_only_on_change():
    """kubelet's costs: a beat is one Lease write (read back only after a Conflict);
    the Node status is written when Ready would change or every report period."""
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {}})
    now = [0.0]
    problem: list[str | None] = [None]
    hb = Heartbeat(api, "n1", lambda: {"cpu": "1m", "memory": "1Mi"},  # type: ignore[arg-type]
                   report_period=60.0, problem=lambda: problem[0], clock=lambda: now[0])
    for _ in range(4):
        hb.beat()
        now[0] += 5
    assert api.updates("get", "Lease") == 1 and api.updates("create", "Lease") == 1
    assert api.updates("update", "Lease") == 3
    assert api.updates("update_status", "Node") == 1, "Ready unchanged: written once"
    node = api.get("Node", "n1", None)
    assert node["status"]["usage"] == {"cpu": "1m", "memory": "1Mi"}
    # The lifecycle controller marks it Unknown: the next beat sets it back.
    node["status"]["conditions"][0]["status"] = "Unknown"
    api.update(node, "status")
    hb.beat()
    assert api.updates("update_status", "Node") == 3
    problem[0] = "container runtime is down"
    hb.beat()
    assert api.updates("update_status", "Node") == 4
    hb.beat()
    assert api.updates("update_status", "Node") == 4
    now[0] += 60
    hb.beat()
    assert api.updates("update_status", "Node") == 5, "the report period passed"
    # Someone else changed the Lease: a Conflict, then one read and a renewal.
    lease = api.get("Lease", "n1", LEASE_NAMESPACE)
    api.update(lease)
    gets = api.updates("get", "Lease")
    hb.beat()
    assert api.updates("get", "Lease") == gets + 1
    assert api.get("Lease", "n1", LEASE_NAMESPACE)["spec"]["holderIdentity"] == "n1"


def test_heartbeat_puts_the_usage_report_and_ready_changes_out():
    api = FakeApi()
    api.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {}})
    changes = []
    report = ['{"t":"x"}']
    hb = Heartbeat(api, "n1", lambda: {"cpu": "1m", "memory": "1Mi"},  # type: ignore[arg-type]
                   usage_report=lambda: report[0],
                   on_ready_change=lambda node, ready: changes.append(ready))
    hb.beat()
    hb.beat()
    lease = api.get("Lease", "n1", LEASE_NAMESPACE)
    assert lease["metadata"]["annotations"]["metrics.coxswain.io/usage"] == '{"t":"x"}'
    report[0] = '{"t":"y"}'
    hb.beat()  # every renewal carries the latest report
    lease = api.get("Lease", "n1", LEASE_NAMESPACE)
    assert lease["metadata"]["annotations"]["metrics.coxswain.io/usage"] == '{"t":"y"}'
    assert changes == [True]  # the first status write after start: NodeReady once


def test_node_object_declares_capacity_labels_and_endpoint():
    machine = MachineInfo(cpu_millicores=4000, memory_bytes=8 * 2**30, kernel="6.1",
                          os_image="Debian", runtime_version="docker://20.10")
    obj = node_object(NodeConfig("n1", "10.0.0.5", 10250, labels={"disk": "ssd"},
                                 taints=[Taint.parse("gpu:NoSchedule")]), machine)
    assert obj["status"]["capacity"] == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    assert obj["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 10250}}
    assert obj["metadata"]["labels"]["disk"] == "ssd"
    assert obj["spec"]["taints"] == [{"key": "gpu", "effect": "NoSchedule"}]


# The fields of Kubernetes' NodeSystemInfo; the typed clients refuse a Node without them.
NODE_SYSTEM_INFO = {"machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
                    "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion",
                    "operatingSystem", "architecture"}


def test_node_info_carries_every_field_kubernetes_declares():
    machine = MachineInfo.discover("docker://27.0")
    info = node_object(NodeConfig("n1", "10.0.0.5", 10250), machine)["status"]["nodeInfo"]
    assert set(info) == NODE_SYSTEM_INFO
    assert all(isinstance(v, str) and v for v in info.values()), info
    assert info["containerRuntimeVersion"] == "docker://27.0"
    assert info["bootID"] == Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def test_command_rejects_bad_flags_with_one_line_messages(tmp_path):
    token = tmp_path / "t"
    token.write_text("secret\n")
    args = ["run", "--name", "n1", "--master", "http://127.0.0.1:1", "--token-file", str(token),
            "--address", "127.0.0.1", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(node_group, [*args, "--taint", "nope"])
    assert result.exit_code == 2 and "key=value:NoSchedule" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(node_group, [*args, "--label", "novalue"])
    assert result.exit_code == 2 and "key=value" in result.output
    assert "secret" not in result.output
