"""A whole cluster on this machine, driven through the `cox` CLI as a user would.

`cox cluster up` (3 masters, 2 nodes in their own network namespaces, each
with its own dockerd and agent), then the demo workload: pods run on both
nodes, a pod reaches a pod on the other node by IP, the Service's ClusterIP
and NodePort spread requests over endpoints on both nodes, an unready
endpoint gets no traffic, scale, a rolling update under continuous traffic
that fails no request, rollout history and undo, logs and top, drain.
`cox cluster down` at the end must leave nothing behind.

Uses its own prefix (``coxw``), subnet, CIDRs and ports, so it runs beside a
real ``cox cluster up``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from coxapi import proxyrecord
from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "coxw"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.2.0/24", "--cluster-cidr", "10.244.248.0/22",
         "--service-cidr", "10.96.248.0/24", "--api-port", "12043", "--raft-port", "12001"]
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.yaml"


class Cluster(harness.Cluster):
    def pods(self, selector: str = "app=web") -> list[dict]:
        return self.json("get", "pods", "-l", selector)["items"]

    def ready_pods(self) -> list[dict]:
        return [p for p in self.pods() if not p["metadata"].get("deletionTimestamp")
                and any(c["type"] == "Ready" and c["status"] == "True"
                        for c in p.get("status", {}).get("conditions", []))]


# Sends HTTP GETs until the file named by argv[3] exists; prints a JSON summary.
CLIENT = r"""
import json, os, sys, time, urllib.request
url, limit, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3]
ok, failed, seen, errors = 0, 0, {}, []
deadline = time.monotonic() + limit
while time.monotonic() < deadline and not os.path.exists(stop):
    try:
        body = urllib.request.urlopen(url, timeout=5).read().decode().strip()
        ok += 1
        seen[body] = seen.get(body, 0) + 1
    except Exception as e:
        failed += 1
        errors.append(repr(e))
    time.sleep(0.01)
print(json.dumps({"ok": ok, "failed": failed, "seen": seen, "errors": errors[:5]}))
"""

SPREAD = r"""
import json, sys, urllib.request
seen = {}
for _ in range(int(sys.argv[2])):
    body = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode().strip()
    seen[body] = seen.get(body, 0) + 1
print(json.dumps(seen))
"""

PROBE = r"""
import json, socket, sys
out = {}
for dst in sys.argv[1:]:
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((dst, 80))
        out[dst] = "connected"
    except socket.timeout:
        out[dst] = "timeout"
    except OSError as e:
        out[dst] = type(e).__name__
    finally:
        s.close()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c, harness.no_processes, harness.no_netns, harness.no_links):
        yield c


@pytest.fixture(scope="module")
def demo(cluster):
    out = cluster.cox("apply", "-f", str(DEMO))
    assert "deployment.apps/web created" in out and "service/web created" in out
    cluster.cox("rollout", "status", "deploy/web", "--timeout", "120s", timeout=150)
    return cluster


def service(cluster: Cluster) -> tuple[str, int]:
    svc = cluster.json("get", "svc", "web")
    return svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]


def test_nodes_ready_and_demo_pods_run_on_both_nodes(demo):
    nodes = demo.json("get", "nodes")["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == ["n1", "n2"]
    pods = demo.ready_pods()
    assert len(pods) == 3
    assert {p["spec"]["nodeName"] for p in pods} == {"n1", "n2"}
    table = demo.cox("get", "pods", "-o", "wide")
    assert table.splitlines()[0].split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert table.count("Running") == 3


def test_pod_reaches_a_pod_on_the_other_node_by_ip(demo):
    pods = demo.ready_pods()
    a = next(p for p in pods if p["spec"]["nodeName"] == "n1")
    b = next(p for p in pods if p["spec"]["nodeName"] == "n2")
    out = demo.docker_exec(a, "httpd", "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
                           f"nc -w 5 {b['status']['podIP']} 8080")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == b["metadata"]["name"]


def test_cluster_ip_and_node_port_spread_over_endpoints_on_both_nodes(demo):
    cip, node_port = service(demo)
    names = {p["metadata"]["name"] for p in demo.ready_pods()}
    seen = json.loads(demo.in_netns("n1", SPREAD, f"http://{cip}/", "60"))
    assert set(seen) == names, seen
    n2_addr = demo.node("n2")["address"]
    seen = json.loads(demo.in_netns("n1", SPREAD, f"http://{n2_addr}:{node_port}/", "60"))
    assert set(seen) == names, seen


def test_unready_endpoint_gets_no_traffic(demo):
    cip, _ = service(demo)
    victim = demo.ready_pods()[0]
    name, node = victim["metadata"]["name"], victim["spec"]["nodeName"]
    cid = demo.container_id(victim, "httpd")
    demo.docker(node, "exec", cid, "mv", "/www/index.html", "/www/away.html")
    try:
        wait_until(lambda: name not in {p["metadata"]["name"] for p in demo.ready_pods()},
                   30, 0.5, f"{name} to become unready")
        wait_until(lambda: all(a.get("targetRef", {}).get("name") != name
                               for s in demo.json("get", "ep", "web").get("subsets") or []
                               for a in s.get("addresses") or []),
                   30, 0.5, f"{name} to leave the endpoints")
        seen = wait_until(lambda: (lambda s: s if name not in s else None)(
            json.loads(demo.in_netns("n2", SPREAD, f"http://{cip}/", "40"))),
            30, 1, "traffic to avoid the unready pod")
        assert sum(seen.values()) == 40 and name not in seen
    finally:
        demo.docker(node, "exec", cid, "mv", "/www/away.html", "/www/index.html")
    wait_until(lambda: len(demo.ready_pods()) == 3, 60, 0.5, "the pod to be ready again")


def test_scale_up_and_down(demo):
    assert "scaled" in demo.cox("scale", "deploy/web", "--replicas", "4")
    wait_until(lambda: len(demo.ready_pods()) == 4, 90, 0.5, "4 ready pods")
    demo.cox("scale", "deploy/web", "--replicas", "3")
    wait_until(lambda: len([p for p in demo.pods() if not p["metadata"].get("deletionTimestamp")])
               == 3, 90, 0.5, "3 pods")


def test_rolling_update_under_traffic_fails_no_request_and_undo_restores(demo, tmp_path):
    cip, _ = service(demo)
    for node in ("n1", "n2"):
        demo.docker(node, "tag", "coxswain/demo:latest", "coxswain/demo:v2")
    stop = tmp_path / "stop"
    ns = demo.node("n2")["netns"]
    client = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", sys.executable, "-c",
                               CLIENT, f"http://{cip}/", "240", str(stop)],
                              stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1)  # let the client establish a baseline before the rollout
        manifest = DEMO.read_text().replace("coxswain/demo:latest", "coxswain/demo:v2")
        new = tmp_path / "demo-v2.yaml"
        new.write_text(manifest)
        out = demo.cox("apply", "-f", str(new))
        assert "deployment.apps/web configured" in out and "service/web unchanged" in out
        demo.cox("rollout", "status", "deploy/web", "--timeout", "180s", timeout=200)
        wait_until(lambda: len(demo.pods()) == 3, 90, 0.5, "old pods to be gone")
    finally:
        stop.touch()
        summary = json.loads(client.communicate(timeout=60)[0])
    print(f"\nrolling update under traffic: {summary['ok']} requests ok, "
          f"{summary['failed']} failed, answered by {len(summary['seen'])} pods")
    assert summary["failed"] == 0, summary["errors"]
    assert summary["ok"] > 50
    images = {p["spec"]["containers"][0]["image"] for p in demo.pods()}
    assert images == {"coxswain/demo:v2"}
    # The leader's record of the proxies (coxapi/proxyrecord.py) counts both
    # nodes' netproxy, and the stopped pods' drains read it, not every Lease.
    record = demo.json("get", "lease", "coxswain-proxies", "-n", "kube-system")
    assert proxyrecord.recorded(record).live == 2
    agent_logs = "".join((demo.dir / "logs" / f"{n}-agent.log").read_text() for n in ("n1", "n2"))
    assert "drained from every proxy" in agent_logs and "as the leader records them" in agent_logs

    history = demo.cox("rollout", "history", "deploy/web")
    assert "1" in history and "2" in history
    demo.cox("rollout", "undo", "deploy/web")
    demo.cox("rollout", "status", "deploy/web", "--timeout", "180s", timeout=200)
    wait_until(lambda: {p["spec"]["containers"][0]["image"] for p in demo.pods()}
               == {"coxswain/demo:latest"} and len(demo.pods()) == 3, 90, 0.5,
               "the undo to replace every pod")


def test_logs_and_top(demo):
    pod = demo.ready_pods()[0]["metadata"]["name"]
    logs = demo.cox("logs", pod, "--tail", "20")
    assert f"serving {pod}" in logs
    top = wait_until(lambda: (lambda t: t if "n1" in t and "n2" in t else None)(
        demo.cox("top", "nodes", check=False)), 60, 1, "usage figures for both nodes")
    assert top.splitlines()[0].split()[:2] == ["NAME", "CPU(cores)"]


def test_unused_cluster_ip_and_outside_address_fail_on_the_machine(demo):
    # 192.0.2.1 is TEST-NET-1: never a real host. The seal drops it on the
    # machine; an unused ClusterIP dies on the host's blackhole route.
    out = json.loads(demo.in_netns("n1", PROBE, "10.96.248.250", "192.0.2.1"))
    assert out["10.96.248.250"] != "connected" and out["192.0.2.1"] != "connected", out


def test_drain_moves_pods_off_the_node(demo):
    out = demo.cox("drain", "n2", "--timeout", "120s", timeout=150)
    assert "drained" in out
    wait_until(lambda: (lambda ps: len(ps) == 3 and all(p["spec"]["nodeName"] == "n1"
                                                        for p in ps))(demo.ready_pods()),
               120, 0.5, "every pod to run on n1")
    node = demo.json("get", "node", "n2")
    assert node["spec"].get("unschedulable") is True
    demo.cox("uncordon", "n2")
    assert not demo.json("get", "node", "n2")["spec"].get("unschedulable")
    counts = Counter(p["spec"]["nodeName"] for p in demo.ready_pods())
    assert counts == Counter({"n1": 3})
