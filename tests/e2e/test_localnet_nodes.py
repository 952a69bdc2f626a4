"""One machine, many nodes (DESIGN.md): two node namespaces, each with its own
dockerd running the demo image; the host reaches both; nothing a node sends
to an outside address or to an untranslated ClusterIP leaves the machine; and
``down`` leaves nothing behind.

Real kernel objects, real dockerds. Everything carries this test's own names
(prefix ``coxt``, bridge ``coxt0``, subnet 10.251.0.0/24, CIDRs 10.244.251.0/24
and 10.96.251.0/24, table ``coxt-seal``) so it never touches a real
``cox cluster up``. The outside address is TEST-NET-1's 192.0.2.1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from localcluster import dockerd, hostnet, procs, seal
from localcluster.machinery import LocalCluster
from localcluster.spec import ClusterSpec
from tests.support import wait_until

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not shutil.which("dockerd") or not shutil.which("nsenter"),
                       reason="needs dockerd and nsenter"),
]

OUTSIDE = "192.0.2.1"  # TEST-NET-1: documentation only
UNUSED_CLUSTER_IP = "10.96.251.7"
PROBE_PORT = 9  # discard: nothing real listens, and the host never sends there itself
RUN_ROOT = Path("/run/coxt-e2e")


def make_spec(dir: Path) -> ClusterSpec:
    return ClusterSpec(dir=dir, masters=1, nodes=2, prefix="coxt", bridge="coxt0",
                       subnet="10.251.0.0/24", run_root=RUN_ROOT,
                       cluster_cidr="10.244.251.0/24", service_cidr="10.96.251.0/24",
                       seal_table="coxt-seal")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    spec = make_spec(tmp_path_factory.mktemp("coxt-localnet"))
    lc = LocalCluster(spec, say=lambda m: print("  " + m))
    t0 = time.monotonic()
    try:
        lc.up(with_control_plane=False)
        print(f"\nnode machinery up in {time.monotonic() - t0:.2f}s; steps: "
              + ", ".join(f"{k}={v:.2f}s" for k, v in lc.timings.items() if v > 0.05))
        yield lc
    finally:
        LocalCluster(spec).down()  # a no-op after test_down_leaves_nothing_behind


def in_netns(spec_node, code: str, timeout: float = 30) -> str:
    """Run a small Python program inside a node's network namespace."""
    done = subprocess.run(["nsenter", f"--net={spec_node.netns_path}", "--",
                           sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=timeout, check=True)
    return done.stdout


def test_two_node_dockerds_come_up_in_seconds(cluster):
    ready = {k: v for k, v in cluster.timings.items() if k.startswith("dockerd-ready")}
    print(f"\ndockerd start-to-answer: {ready}")
    assert len(ready) == 2
    assert max(ready.values()) < 15.0
    for node in cluster.spec.all_nodes():
        c = dockerd.client(node)
        try:
            info = c.info()
        finally:
            c.close()
        # each node's dockerd is its own: own data root, no bridge of its own
        assert info["DockerRootDir"] == str(node.docker_data_root)
        assert info["Name"]


def test_node_namespaces_are_addressed_routed_and_forward(cluster):
    for node in cluster.spec.all_nodes():
        out = json.loads(in_netns(node, (
            "import json, socket;"
            "from pyroute2 import IPRoute;"
            "ipr = IPRoute();"
            "lo = ipr.get_links(ipr.link_lookup(ifname='lo')[0])[0];"
            "addrs = [a.get_attr('IFA_ADDRESS') for a in ipr.get_addr(label='eth0')];"
            "gw = [r.get_attr('RTA_GATEWAY') for r in ipr.get_default_routes()];"
            "fwd = open('/proc/sys/net/ipv4/ip_forward').read().strip();"
            "print(json.dumps({'lo_up': bool(lo['flags'] & 1), 'addrs': addrs, 'gw': gw,"
            " 'forward': fwd}))")))
        assert out == {"lo_up": True, "addrs": [node.address], "gw": [node.gateway],
                       "forward": "1"}


def test_each_node_runs_the_demo_image_and_the_host_reaches_it(cluster):
    spec = cluster.spec
    for node in spec.all_nodes():
        assert dockerd.run_probe(node, spec.image) == f"probe-{node.name}"
        c = dockerd.client(node)
        try:
            c.containers.run(spec.image, detach=True, name=f"web-{node.name}",
                             hostname=f"web-{node.name}", network_mode="host")
        finally:
            c.close()
    for node in spec.all_nodes():
        url = f"http://{node.address}:8080/"
        body = wait_until(lambda url=url: requests.get(url, timeout=2).text, timeout=20,
                          what=f"the demo server at {url}")
        assert body.strip() == f"web-{node.name}"
    # node to node, across the host bridge (and the host's forward hook)
    n1, n2 = spec.all_nodes()
    out = in_netns(n2, "import urllib.request as u;"
                       f"print(u.urlopen('http://{n1.address}:8080/', timeout=5).read().decode())")
    assert out.strip() == "web-n1"


PROBE = """
import json, socket
out = {}
for dst in (%(targets)r):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(3):
        u.sendto(b"coxt-seal-probe", (dst, %(port)d))
    u.close()
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.settimeout(1.5)
    try:
        t.connect((dst, %(port)d))
        out[dst] = "connected"
    except socket.timeout:
        out[dst] = "timeout"
    except OSError as e:
        out[dst] = "error: %%s" %% e
    finally:
        t.close()
print(json.dumps(out))
"""


class Capture:
    """tcpdump on the host's uplinks for anything of this test's: proof that
    nothing leaves the machine (the kernel counts what the filter matches)."""

    def __init__(self, ifname: str, bpf: str, path: Path) -> None:
        self.ifname, self.path = ifname, path
        self.log = path.with_suffix(".err")
        self.err = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["tcpdump", "-n", "-i", ifname, "--immediate-mode",
                                      "-w", str(path), bpf], stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        wait_until(lambda: b"listening on" in self.log.read_bytes() or self.proc.poll(),
                   timeout=10, what=f"tcpdump on {ifname}")
        assert self.proc.poll() is None, self.log.read_text()

    def stop(self) -> int:
        """Stop it and return how many packets its filter matched."""
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.err.close()
        text = self.log.read_text()
        m = re.search(r"(\d+) packets? received by filter", text)
        assert m, text
        return int(m.group(1))

    def packets(self) -> str:
        return subprocess.run(["tcpdump", "-r", str(self.path), "-n", "-e"], capture_output=True,
                              text=True, check=False).stdout


def test_outside_and_unused_cluster_ip_traffic_dies_on_the_machine(cluster, tmp_path):
    spec = cluster.spec
    n1 = spec.node(1)
    assert set(spec.blackholes) <= hostnet.blackholes()
    before = seal.counters(spec.seal_table)
    # Our probes, whether they left as sent or masqueraded to the host's address
    # (the host's own ARP and traffic to its gateway, which 192.0.2.1 is on some
    # machines, must not count).
    bpf = (f"ip and (net {spec.subnet} or net {spec.service_cidr} or net {spec.cluster_cidr}"
           f" or (dst host {OUTSIDE} and (udp dst port {PROBE_PORT}"
           f" or tcp dst port {PROBE_PORT})))")
    captures = [Capture(i, bpf, tmp_path / f"{i}.pcap") for i in sorted(hostnet.uplinks())]

    result = json.loads(in_netns(n1, PROBE % {"targets": (OUTSIDE, UNUSED_CLUSTER_IP),
                                              "port": PROBE_PORT}))
    # Both requests fail by silence: no reset, no ICMP came back from anywhere.
    assert result == {OUTSIDE: "timeout", UNUSED_CLUSTER_IP: "timeout"}

    # The drop counters move in the same kernel path that would have sent the
    # packet on, so once they show every probe, nothing more can leave.
    after = wait_until(lambda: (lambda c: c if c.escaped - before.escaped >= 4
                                and c.service - before.service >= 4 else None)(
                                    seal.counters(spec.seal_table)),
                       timeout=10, what="the seal counters")
    escaped = after.escaped - before.escaped
    service = after.service - before.service
    print(f"\nseal: escaped +{escaped} (dropped at forward), untranslated ClusterIP +{service}"
          f" (blackholed), intruded +{after.intruded - before.intruded}")
    assert 4 <= escaped <= 6  # 3 UDP + 1-3 TCP SYNs (retransmits within 1.5 s)
    assert 4 <= service <= 6
    seen = {c.ifname: c.stop() for c in captures}
    print(f"packets of this test seen on the uplinks: {seen}")
    assert all(n == 0 for n in seen.values()), {c.ifname: c.packets() for c in captures}


def test_up_again_replaces_a_killed_dockerd_and_reaps_what_it_left(cluster):
    spec = cluster.spec
    n2 = spec.node(2)
    old = LocalCluster(spec).state.node("n2").pids["dockerd"]
    left_running = procs.pids_mentioning(n2.docker_exec_root)  # its containerd and shims
    assert old in left_running and len(left_running) >= 2
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: procs.exited(old), timeout=10, what="the killed dockerd to exit")

    again = LocalCluster(spec, say=lambda m: print("  " + m))
    again.up(with_control_plane=False)
    new = again.state.node("n2").pids["dockerd"]
    assert new != old
    assert again.state.node("n1").pids["dockerd"] == cluster.state.node("n1").pids["dockerd"]
    # the orphans of the killed dockerd are gone; only the new one's remain
    assert not set(left_running) & set(procs.pids_mentioning(n2.docker_exec_root))
    assert dockerd.run_probe(n2, spec.image) == "probe-n2"
    cluster.state = again.state  # later tests see the new pids


def test_down_leaves_nothing_behind(cluster):
    spec = cluster.spec
    pids = [n.pids.get("dockerd") for n in cluster.state.nodes]
    assert all(pids)
    t0 = time.monotonic()
    LocalCluster(spec).down()
    print(f"\ndown took {time.monotonic() - t0:.2f}s")
    LocalCluster(spec).down()  # twice is safe

    assert not [p for p in pids if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    leftovers = [p.info["pid"] for p in psutil.process_iter(["pid", "cmdline"])
                 if any(str(RUN_ROOT) in a or str(spec.dir) in a
                        for a in (p.info["cmdline"] or []))]
    assert leftovers == []
    assert not {n.netns for n in spec.all_nodes()} & hostnet.namespaces()
    assert not {spec.bridge, *(n.veth_host for n in spec.all_nodes())} & hostnet.host_links()
    assert spec.seal_table not in seal.tables()
    assert not set(spec.blackholes) & hostnet.blackholes()
    assert not hostnet.forward_allowed(spec.bridge)
    with open("/proc/self/mountinfo") as f:
        mounts = f.read()
    assert str(RUN_ROOT) not in mounts and str(spec.dir) not in mounts
    assert not RUN_ROOT.exists()
    for n in spec.all_nodes():
        assert not n.docker_data_root.exists()
        assert not Path("/sys/fs/cgroup/memory", n.netns).exists()


def test_netns_users_names_the_processes_left_in_a_namespace():
    """What ``down`` warns about: a process still in a node namespace keeps it
    (and its veth) alive after the name is gone."""
    name = "coxt-users-probe"
    subprocess.run(["ip", "netns", "add", name], check=True)
    proc = subprocess.Popen(["ip", "netns", "exec", name, "sleep", "60"])
    try:
        wait_until(lambda: proc.pid in hostnet.netns_users(name), 5,
                   what="the sleeper to be seen in the namespace")
        assert os.getpid() not in hostnet.netns_users(name)
    finally:
        proc.kill()
        proc.wait(5)
        subprocess.run(["ip", "netns", "del", name], check=False)
    assert hostnet.netns_users(name) == []
