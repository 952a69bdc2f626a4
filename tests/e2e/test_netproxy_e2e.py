"""netproxy for real: a plan applied through netlink inside network
namespaces this test creates, with real packets.

Topology (every name starts with ``cxnp-<random>``)::

    client ns  10.250.77.2 ──veth── 10.250.77.1  node ns  (the proxy's table lives here)
                                                   br0 10.244.77.1/24
                                    pods p0..p3 ──veth── br0  at 10.244.77.10+i

Each pod runs a tiny server that answers TCP and UDP with its own name, so
the answer tells which endpoint a request reached.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import pytest

from netproxy.plan import build_plan
from netproxy.table import NftTable
from tests.support import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"),
                       reason="needs root and iproute2"),
]

T = TypeVar("T")
CLUSTER_IP = "10.96.77.10"
UDP_IP = "10.96.77.11"
EMPTY_IP = "10.96.77.12"
HAIRPIN_IP = "10.96.77.13"
NODE_IP = "10.250.77.1"
CLIENT_IP = "10.250.77.2"
POD_NET = "10.244.77"
TCP_PORT, UDP_PORT = 8080, 5353

SERVER = r"""
import socket, sys, threading
name = sys.argv[1].encode()
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", int(sys.argv[3])))
    while True:
        data, peer = s.recvfrom(2048)
        s.sendto(name + b" " + peer[0].encode(), peer)
threading.Thread(target=udp, daemon=True).start()
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("0.0.0.0", int(sys.argv[2])))
t.listen(64)
print("ready", flush=True)
def serve(c, peer):
    with c:
        c.sendall(name + b" " + peer[0].encode())
        while data := c.recv(2048):  # then echo until the client closes
            c.sendall(data)
while True:
    threading.Thread(target=serve, args=t.accept(), daemon=True).start()
"""


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=20)


def in_netns(ns: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that has entered network namespace ``ns``
    (setns changes only the calling thread's namespace)."""
    from pyroute2.netns import setns

    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
            try:
                setns(fd, flags=0)
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join(30)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def tcp_get(ip: str, port: int, timeout: float = 2.0) -> str:
    with socket.create_connection((ip, port), timeout=timeout) as s:
        return s.recv(100).decode()


def udp_get(ip: str, port: int, timeout: float = 2.0, sock: socket.socket | None = None) -> str:
    s = sock or socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.connect((ip, port))
        s.send(b"hello")
        return s.recv(100).decode()
    finally:
        if sock is None:
            s.close()


class Topology:
    def __init__(self) -> None:
        self.prefix = f"cxnp-{secrets.token_hex(3)}"
        self.node = f"{self.prefix}-node"
        self.client = f"{self.prefix}-cli"
        self.pods = [f"{self.prefix}-p{i}" for i in range(4)]
        self.servers: list[subprocess.Popen] = []
        self.namespaces: list[str] = []

    def pod_ip(self, i: int) -> str:
        return f"{POD_NET}.{10 + i}"

    def _ns(self, name: str) -> None:
        sh("ip", "netns", "add", name)
        self.namespaces.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def build(self) -> None:
        node = self.node
        self._ns(node)
        self._ns(self.client)
        sh("ip", "netns", "exec", node, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        sh("ip", "-n", node, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
           "netns", self.client)
        sh("ip", "-n", node, "addr", "add", f"{NODE_IP}/24", "dev", "eth0")
        sh("ip", "-n", node, "link", "set", "eth0", "up")
        sh("ip", "-n", self.client, "addr", "add", f"{CLIENT_IP}/24", "dev", "eth0")
        sh("ip", "-n", self.client, "link", "set", "eth0", "up")
        sh("ip", "-n", self.client, "route", "add", "default", "via", NODE_IP)
        # Locally generated ClusterIP traffic needs a route before the output hook.
        sh("ip", "-n", node, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", node, "addr", "add", f"{POD_NET}.1/24", "dev", "br0")
        sh("ip", "-n", node, "link", "set", "br0", "up")
        sh("ip", "-n", node, "route", "add", "10.96.0.0/16", "dev", "br0")
        for i, pod in enumerate(self.pods):
            self._ns(pod)
            sh("ip", "-n", node, "link", "add", f"veth{i}", "type", "veth", "peer", "name",
               "eth0", "netns", pod)
            sh("ip", "-n", node, "link", "set", f"veth{i}", "master", "br0", "up")
            # As kubelet does: with br_netfilter a pod's own DNATed packet is
            # bridged back out the port it came in on.
            sh("ip", "-n", node, "link", "set", f"veth{i}", "type", "bridge_slave", "hairpin", "on")
            sh("ip", "-n", pod, "addr", "add", f"{self.pod_ip(i)}/24", "dev", "eth0")
            sh("ip", "-n", pod, "link", "set", "eth0", "up")
            sh("ip", "-n", pod, "route", "add", "default", "via", f"{POD_NET}.1")
            proc = subprocess.Popen(
                ["ip", "netns", "exec", pod, sys.executable, "-c", SERVER, f"p{i}",
                 str(TCP_PORT), str(UDP_PORT)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
            self.servers.append(proc)
        for proc in self.servers:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == b"ready"

    def destroy(self) -> None:
        for proc in self.servers:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=10)
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


@pytest.fixture(scope="module")
def topo():
    t = Topology()
    try:
        t.build()
        yield t
    finally:
        t.destroy()


@pytest.fixture
def table(topo):
    tbl = NftTable("cxnp-proxy", netns=topo.node)
    yield tbl
    tbl.delete()
    tbl.close()


def service(name: str, ip: str, ports: list[dict], type_: str = "ClusterIP") -> dict:
    return {"metadata": {"name": name, "namespace": "e2e"},
            "spec": {"type": type_, "clusterIP": ip, "ports": ports}}


def endpoints(name: str, ready: list[str], not_ready: list[str] = (),
              ports: list[dict] | None = None) -> dict:
    ports = ports or [{"name": "http", "port": TCP_PORT, "protocol": "TCP"}]
    subset: dict = {"ports": ports, "addresses": [{"ip": ip} for ip in ready]}
    if not_ready:
        subset["notReadyAddresses"] = [{"ip": ip} for ip in not_ready]
    return {"metadata": {"name": name, "namespace": "e2e"}, "subsets": [subset]}


def web_plan(topo: Topology, ready: list[int], not_ready: list[int] = ()):
    svcs = [
        service("web", CLUSTER_IP, [{"name": "http", "port": 80, "targetPort": TCP_PORT,
                                     "nodePort": 30080}], "NodePort"),
        service("dns", UDP_IP, [{"name": "dns", "port": 53, "protocol": "UDP",
                                 "targetPort": UDP_PORT}]),
        service("empty", EMPTY_IP, [{"name": "http", "port": 80, "targetPort": TCP_PORT},
                                    {"name": "dns", "port": 53, "protocol": "UDP"}]),
        service("hairpin", HAIRPIN_IP, [{"name": "http", "port": 80, "targetPort": TCP_PORT}]),
    ]
    eps = [
        endpoints("web", [topo.pod_ip(i) for i in ready], [topo.pod_ip(i) for i in not_ready]),
        endpoints("dns", [topo.pod_ip(i) for i in ready],
                  ports=[{"name": "dns", "port": UDP_PORT, "protocol": "UDP"}]),
        endpoints("empty", [], [topo.pod_ip(3)]),
        endpoints("hairpin", [topo.pod_ip(0)]),
    ]
    return build_plan(svcs, eps, [NODE_IP], table="cxnp-proxy")


def nft_list(ns: str) -> str:
    return subprocess.run(["ip", "netns", "exec", ns, "nft", "list", "ruleset"],
                          capture_output=True, text=True, timeout=20, check=True).stdout


def test_cluster_ip_spreads_over_ready_endpoints_only(topo, table):
    table.apply(web_plan(topo, ready=[0, 1, 2], not_ready=[3]))
    seen = Counter(in_netns(topo.client, lambda: [tcp_get(CLUSTER_IP, 80).split()[0]
                                                  for _ in range(60)]))
    assert set(seen) == {"p0", "p1", "p2"}, seen  # p3 is not ready: never reached
    assert min(seen.values()) >= 5, seen  # random, but not lopsided


def test_cluster_ip_from_the_node_itself(topo, table):
    table.apply(web_plan(topo, ready=[1]))
    assert in_netns(topo.node, lambda: tcp_get(CLUSTER_IP, 80)).startswith("p1")


def test_udp_cluster_ip(topo, table):
    table.apply(web_plan(topo, ready=[2]))
    assert in_netns(topo.client, lambda: udp_get(UDP_IP, 53)).startswith("p2")


def test_node_port_on_the_node_address(topo, table):
    table.apply(web_plan(topo, ready=[0, 1]))
    answers = in_netns(topo.client, lambda: [tcp_get(NODE_IP, 30080) for _ in range(10)])
    names = {a.split()[0] for a in answers}
    assert names <= {"p0", "p1"} and names
    # NodePort traffic is masqueraded: the endpoint sees the node, not the client
    assert {a.split()[1] for a in answers} == {f"{POD_NET}.1"}
    # and from the node itself, to its own address
    assert in_netns(topo.node, lambda: tcp_get(NODE_IP, 30080)).split()[0] in {"p0", "p1"}


def test_pod_reaches_another_pod_on_its_bridge_through_a_cluster_ip(topo, table):
    if not in_netns(topo.node, lambda: os.path.exists("/proc/sys/net/bridge")):
        pytest.skip("br_netfilter is not loaded")
    table.apply(web_plan(topo, ready=[1]))
    name, peer = in_netns(topo.pods[3], lambda: tcp_get(CLUSTER_IP, 80)).split()
    # not masqueraded: the reply is bridged straight back and un-NATed by conntrack
    assert (name, peer) == ("p1", topo.pod_ip(3))


def test_hairpin_pod_reaches_itself_through_its_service(topo, table):
    table.apply(web_plan(topo, ready=[1]))
    answer = in_netns(topo.pods[0], lambda: tcp_get(HAIRPIN_IP, 80))
    name, peer = answer.split()
    assert name == "p0"
    assert peer == f"{POD_NET}.1"  # masqueraded, or the reply would bypass the NAT


def test_service_without_endpoints_refuses_at_once(topo, table):
    table.apply(web_plan(topo, ready=[0]))

    def attempt_tcp() -> float:
        start = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            tcp_get(EMPTY_IP, 80, timeout=5)
        return time.monotonic() - start

    def attempt_udp() -> float:
        start = time.monotonic()
        with pytest.raises(ConnectionRefusedError):
            udp_get(EMPTY_IP, 53, timeout=5)
        return time.monotonic() - start

    assert in_netns(topo.client, attempt_tcp) < 1.0
    assert in_netns(topo.node, attempt_tcp) < 1.0
    assert in_netns(topo.client, attempt_udp) < 1.0


def test_established_connection_survives_its_service_losing_all_endpoints(topo, table):
    table.apply(web_plan(topo, ready=[0]))
    conn = in_netns(topo.client, lambda: socket.create_connection((CLUSTER_IP, 80), timeout=2))
    try:
        assert conn.recv(100).startswith(b"p0")
        table.apply(web_plan(topo, ready=[]))  # e.g. its only pod failed a readiness probe
        conn.sendall(b"still there?")
        assert conn.recv(100) == b"still there?"  # only new connections are refused
        assert _refused(topo.client, CLUSTER_IP, 80)
    finally:
        conn.close()


def test_a_refused_transaction_leaves_the_previous_table_whole(topo, table):
    import dataclasses

    from netproxy.plan import Chain, Goto
    from netproxy.table import NftError

    good = web_plan(topo, ready=[0])
    table.apply(good)
    gen = table.generation()
    # the same table plus one rule that jumps to a chain that does not exist
    bad = dataclasses.replace(good, chains=good.chains + (Chain("broken", ((Goto("nope"),),)),))
    with pytest.raises(NftError, match="add rule broken"):
        table.apply(bad)
    assert table.generation() == gen  # nothing committed: not even the table's deletion
    assert in_netns(topo.client, lambda: tcp_get(CLUSTER_IP, 80)).startswith("p0")
    assert table.applied == good


def nft_json_model(ns: str, table: str) -> tuple:
    """The table as nft lists it, without handles: rules in order per chain,
    set elements as sets."""
    import json

    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "ip", table],
                         capture_output=True, text=True, timeout=20, check=True).stdout
    rules: dict[str, list[str]] = {}
    objects = set()
    for item in json.loads(out)["nftables"]:
        for kind, body in item.items():
            if kind == "metainfo":
                continue
            body = {k: v for k, v in body.items() if k != "handle"}
            if kind == "rule":
                rules.setdefault(body["chain"], []).append(json.dumps(body["expr"], sort_keys=True))
                continue
            if "elem" in body:
                body["elem"] = sorted(json.dumps(e, sort_keys=True) for e in body["elem"])
            objects.add((kind, json.dumps(body, sort_keys=True)))
    return objects, rules


def test_incremental_edits_give_the_same_table_as_a_full_replace(topo, table):
    steps = [web_plan(topo, ready=[0]), web_plan(topo, ready=[0, 1, 2], not_ready=[3]),
             web_plan(topo, ready=[]), web_plan(topo, ready=[2, 3])]
    table.apply(steps[0])
    for plan in steps[1:]:
        assert table.apply(plan)
    assert table.incremental_writes == len(steps) - 1
    incremental = nft_json_model(topo.node, "cxnp-proxy")
    table.delete()
    table.apply(steps[-1])
    assert nft_json_model(topo.node, "cxnp-proxy") == incremental
    answers = in_netns(topo.client, lambda: {tcp_get(CLUSTER_IP, 80).split()[0] for _ in range(20)})
    assert answers == {"p2", "p3"}


def test_unchanged_resync_writes_nothing(topo, table):
    plan = web_plan(topo, ready=[0, 1])
    assert table.apply(plan) is True
    gen = table.generation()
    assert table.apply(web_plan(topo, ready=[0, 1])) is False
    assert table.generation() == gen  # the kernel saw no transaction
    assert table.apply(web_plan(topo, ready=[0])) is True
    assert table.generation() == gen + 1  # one change, one transaction
    assert in_netns(topo.client, lambda: tcp_get(CLUSTER_IP, 80)).startswith("p0")


def test_stale_udp_conntrack_is_flushed(topo, table):
    from netproxy.conntrack import delete_stale
    from netproxy.plan import stale_flows

    old = web_plan(topo, ready=[0])
    table.apply(old)
    # a socket belongs to the namespace it was created in
    sock = in_netns(topo.client, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    try:
        assert udp_get(UDP_IP, 53, sock=sock).startswith("p0")
        new = web_plan(topo, ready=[1])
        table.apply(new)
        # Same source port, no flush: the conntrack entry still points at p0.
        assert udp_get(UDP_IP, 53, sock=sock).startswith("p0")
        flows = stale_flows(old, new)
        assert delete_stale(flows, netns=topo.node) >= 1
        assert udp_get(UDP_IP, 53, sock=sock).startswith("p1")
    finally:
        sock.close()


def test_unanswered_tcp_conntrack_of_a_removed_endpoint_is_deleted(topo, table):
    """A SYN to an endpoint that never answers (its node is gone) leaves a
    SYN_SENT entry for two minutes; a client that reuses that source port
    meanwhile matches it and is sent to the dead endpoint again, whatever
    the table says. Removing the endpoint deletes such entries, and only
    those: a connection the removed endpoint accepted keeps working."""
    from netproxy.conntrack import delete_stale
    from netproxy.plan import stale_flows

    silent = topo.pods[3]
    plans = [web_plan(topo, ready=[0]), web_plan(topo, ready=[3]), web_plan(topo, ready=[1])]
    table.apply(plans[0])
    accepted = in_netns(topo.client, lambda: socket.create_connection((CLUSTER_IP, 80), timeout=2))
    probe = in_netns(topo.client, socket.socket)
    try:
        assert accepted.recv(100).decode().startswith("p0")
        # p3 drops every SYN, as a pod on a lost node would
        subprocess.run(["ip", "netns", "exec", silent, "nft", "-f", "-"], check=True, timeout=20,
                       input="table ip cxnp-silent { chain in { type filter hook input "
                             f"priority 0; tcp dport {TCP_PORT} drop; }}; }}", text=True)
        table.apply(plans[1])
        assert delete_stale(stale_flows(plans[0], plans[1]), netns=topo.node) == 0
        accepted.sendall(b"still p0")  # answered: left alone
        assert accepted.recv(100) == b"still p0"

        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((CLIENT_IP, 0))
        port = probe.getsockname()[1]

        def connect_from_port() -> str:
            s = in_netns(topo.client, socket.socket)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((CLIENT_IP, port))
            s.settimeout(1.5)
            with s:
                try:
                    s.connect((CLUSTER_IP, 80))
                except TimeoutError:
                    return "timeout"
                return s.recv(100).decode().split()[0]

        probe.close()
        assert connect_from_port() == "timeout"  # SYN_SENT to p3
        table.apply(plans[2])
        # The table now says p1, but the same source port still matches the entry.
        assert connect_from_port() == "timeout"
        assert delete_stale(stale_flows(plans[1], plans[2]), netns=topo.node) >= 1
        assert connect_from_port() == "p1"
        accepted.sendall(b"and still")
        assert accepted.recv(100) == b"and still"
    finally:
        accepted.close()
        probe.close()
        subprocess.run(["ip", "netns", "exec", silent, "nft", "delete", "table", "ip",
                        "cxnp-silent"], capture_output=True, timeout=20)


def test_table_is_removed_on_cleanup(topo):
    tbl = NftTable("cxnp-proxy", netns=topo.node)
    tbl.apply(web_plan(topo, ready=[0]))
    assert "table ip cxnp-proxy" in nft_list(topo.node)
    tbl.delete()
    assert "cxnp-proxy" not in nft_list(topo.node)
    assert not tbl.exists()
    tbl.delete()  # idempotent
    tbl.close()
    # and ClusterIP traffic no longer translated: nothing answers on it
    wait_until(lambda: _unreachable(topo), timeout=5, what="ClusterIP untranslated")


def _unreachable(topo: Topology) -> bool:
    try:
        in_netns(topo.client, lambda: tcp_get(CLUSTER_IP, 80, timeout=0.3))
    except OSError:
        return True
    return False


# ---- the proxy loop, for real ---------------------------------------------------------

class RunningProxy:
    """ServiceProxy over an in-memory API, programming the node namespace."""

    def __init__(self, topo: Topology, api) -> None:
        from netproxy.proxy import ProxyConfig, ServiceProxy

        self.proxy = ServiceProxy(api, [NODE_IP], ProxyConfig(table="cxnp-proxy", debounce=0.02),
                                  netns=topo.node)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.proxy.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        self.proxy.cleanup()


def answers_from(ns: str, ip: str, port: int) -> str:
    return in_netns(ns, lambda: tcp_get(ip, port, timeout=0.5)).split()[0]


def test_proxy_loop_follows_endpoints_changes(topo):
    from netproxy.testing import FakeApi

    api = FakeApi()
    api.put("services", service("web", CLUSTER_IP, [{"name": "http", "port": 80,
                                                     "targetPort": TCP_PORT}]))
    api.put("endpoints", endpoints("web", [topo.pod_ip(0)]))
    running = RunningProxy(topo, api)
    try:
        wait_until(lambda: answers_from(topo.client, CLUSTER_IP, 80) == "p0", 10,
                   what="ClusterIP answered by p0")
        api.put("endpoints", endpoints("web", [topo.pod_ip(2)], not_ready=[topo.pod_ip(0)]))
        wait_until(lambda: answers_from(topo.client, CLUSTER_IP, 80) == "p2", 10,
                   what="ClusterIP moved to p2")
        # a change that does not alter the table: synced, nothing written
        probe = NftTable("cxnp-proxy", netns=topo.node)  # its own socket
        gen, syncs = probe.generation(), running.proxy.stats.syncs
        labelled = service("web", CLUSTER_IP, [{"name": "http", "port": 80,
                                                "targetPort": TCP_PORT}])
        labelled["metadata"]["labels"] = {"tier": "front"}
        api.put("services", labelled)
        wait_until(lambda: running.proxy.stats.syncs > syncs, 10, what="a re-sync")
        assert probe.generation() == gen
        probe.close()
        api.put("endpoints", endpoints("web", []))
        wait_until(lambda: _refused(topo.client, CLUSTER_IP, 80), 10, what="refused")
        api.delete("services", "e2e", "web")
        wait_until(lambda: running.proxy.table.applied is not None
                   and not running.proxy.table.applied.map("no-endpoint-services").elements,
                   10, what="service gone from the table")
    finally:
        api.close()
        running.close()
    assert "cxnp-proxy" not in nft_list(topo.node)


def _refused(ns: str, ip: str, port: int) -> bool:
    try:
        in_netns(ns, lambda: tcp_get(ip, port, timeout=0.5))
    except ConnectionRefusedError:
        return True
    return False
