"""Pod routes, masquerade and forwarding (node/network.py) programmed for real,
inside a network namespace this test creates (never the host's)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from node.network import NFT_TABLE, desired_routes, masquerade_ruleset

pytestmark = pytest.mark.e2e

SCRIPT = """
import json, sys
from node.network import NodeNetwork
args = json.load(sys.stdin)
net = NodeNetwork("n1", "10.244.0.0/16")
if args["setup"]:
    net.setup("10.244.1.0/24")
net.sync_routes(args["nodes"])
"""


def node(name: str, ip: str, cidr: str | None) -> dict:
    return {"metadata": {"name": name}, "spec": {"podCIDR": cidr} if cidr else {},
            "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}


def test_desired_routes_skip_self_and_nodes_without_cidr():
    nodes = [node("n1", "10.250.0.11", "10.244.1.0/24"), node("n2", "10.250.0.12",
                                                               "10.244.2.0/24"),
             node("n3", "10.250.0.13", None)]
    assert desired_routes("n1", nodes) == {"10.244.2.0/24": "10.250.0.12"}


def test_masquerade_ruleset_exempts_the_cluster_cidr():
    rules = masquerade_ruleset("10.244.1.0/24", "10.244.0.0/16")
    assert "ip saddr 10.244.1.0/24 ip daddr != 10.244.0.0/16 masquerade" in rules
    assert f"delete table ip {NFT_TABLE}" in rules  # replaced atomically, never appended


@pytest.fixture
def netns():
    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("nft"):
        pytest.skip("needs root, ip and nft")
    name = f"coxt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        ip = ["ip", "-n", name]
        # A veth pair kept inside the namespace (no dummy module needed).
        subprocess.run([*ip, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
                       check=True)
        subprocess.run([*ip, "link", "set", "eth1", "up"], check=True)
        subprocess.run([*ip, "addr", "add", "10.250.99.11/24", "dev", "eth0"], check=True)
        subprocess.run([*ip, "link", "set", "eth0", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def program(ns: str, nodes: list[dict], setup: bool) -> None:
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run(["nsenter", f"--net=/run/netns/{ns}", sys.executable, "-c", SCRIPT],
                   input=json.dumps({"nodes": nodes, "setup": setup}), text=True, check=True,
                   cwd=repo, timeout=30)


def routes(ns: str) -> str:
    return subprocess.run(["ip", "-n", ns, "route"], capture_output=True, text=True,
                          check=True).stdout


def test_routes_follow_nodes_and_masquerade_and_forwarding_are_set(netns):
    subprocess.run(["ip", "-n", netns, "route", "add", "10.99.0.0/16", "via", "10.250.99.1"],
                   check=True)  # someone else's route: must survive
    me = node("n1", "10.250.99.11", "10.244.1.0/24")
    n2 = node("n2", "10.250.99.12", "10.244.2.0/24")
    n3 = node("n3", "10.250.99.13", "10.244.3.0/24")
    program(netns, [me, n2, n3], setup=True)
    table = routes(netns)
    assert "10.244.2.0/24 via 10.250.99.12" in table
    assert "10.244.3.0/24 via 10.250.99.13" in table
    assert "10.244.1.0/24" not in table
    nft = subprocess.run(["ip", "netns", "exec", netns, "nft", "list", "table", "ip", NFT_TABLE],
                         capture_output=True, text=True, check=True).stdout
    assert "masquerade" in nft and "10.244.1.0/24" in nft
    forward = subprocess.run(["ip", "netns", "exec", netns, "cat",
                              "/proc/sys/net/ipv4/ip_forward"], capture_output=True, text=True,
                             check=True).stdout
    assert forward.strip() == "1"
    # n3 leaves and n2 moves: one route goes, one changes; the foreign route stays.
    n2_moved = node("n2", "10.250.99.22", "10.244.2.0/24")
    program(netns, [me, n2_moved], setup=False)
    table = routes(netns)
    assert "10.244.2.0/24 via 10.250.99.22" in table
    assert "10.244.3.0/24" not in table
    assert "10.99.0.0/16 via 10.250.99.1" in table
