"""Pod networking on the node: routes to other nodes' pod CIDRs, masquerade, forwarding.

``desired_routes`` is pure; ``NodeNetwork`` applies it with pyroute2 (routes
are tagged with our own routing protocol number, so we only ever replace or
delete routes we added) and programs masquerade for pod traffic leaving the
cluster CIDR in the agent's own nftables table, replaced in one transaction.
Everything applies to the network namespace the agent runs in.
"""

from __future__ import annotations

import ipaddress
import logging
import shutil
import socket
import subprocess
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger(__name__)
Obj = dict[str, Any]

RT_PROTO = 237  # routes this agent owns (kernel protocol numbers 0-255; 237 is unassigned)
NFT_TABLE = "coxswain-node"


def internal_ip(node: Obj) -> str | None:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == "InternalIP":
            return a.get("address")
    return None


def desired_routes(self_name: str, nodes: list[Obj]) -> dict[str, str]:
    """Pod CIDR -> gateway (the node's InternalIP) for every other node."""
    out = {}
    for node in nodes:
        if node["metadata"]["name"] == self_name:
            continue
        cidr = (node.get("spec") or {}).get("podCIDR")
        ip = internal_ip(node)
        if cidr and ip:
            out[str(ipaddress.ip_network(cidr, strict=False))] = ip
    return out


def masquerade_ruleset(pod_cidr: str, cluster_cidr: str) -> str:
    """An nft script that atomically (re)creates the agent's table."""
    return (
        f"table ip {NFT_TABLE}\n"
        f"delete table ip {NFT_TABLE}\n"
        f"table ip {NFT_TABLE} {{\n"
        f"  chain postrouting {{\n"
        f"    type nat hook postrouting priority srcnat; policy accept;\n"
        f"    ip saddr {pod_cidr} ip daddr != {cluster_cidr} masquerade\n"
        f"  }}\n"
        f"}}\n"
    )


class NodeNetwork:
    def __init__(self, node_name: str, cluster_cidr: str) -> None:
        self.node_name = node_name
        self.cluster_cidr = cluster_cidr
        self._routes: dict[str, str] | None = None

    def setup(self, pod_cidr: str) -> None:
        """Forwarding on, and masquerade for pod traffic leaving the cluster."""
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")
        nft = shutil.which("nft")
        if nft is None:
            log.warning("nft not found: pod traffic leaving the cluster is not masqueraded")
            return
        result = subprocess.run([nft, "-f", "-"], input=masquerade_ruleset(
            pod_cidr, self.cluster_cidr), text=True, capture_output=True, timeout=10)
        if result.returncode != 0:
            log.error("programming nftables table %s failed: %s", NFT_TABLE,
                      result.stderr.strip())

    def sync_routes(self, nodes: list[Obj]) -> None:
        wanted = desired_routes(self.node_name, nodes)
        if wanted == self._routes:
            return
        with IPRoute() as ipr:
            have = {}
            for r in ipr.get_routes(family=socket.AF_INET, proto=RT_PROTO):
                dst = f"{r.get_attr('RTA_DST')}/{r['dst_len']}"
                have[dst] = r.get_attr("RTA_GATEWAY")
            for dst in have.keys() - wanted.keys():
                self._apply(ipr, "del", dst, have[dst])
            for dst, via in wanted.items():
                if have.get(dst) != via:
                    self._apply(ipr, "replace", dst, via)
        self._routes = wanted

    def _apply(self, ipr: IPRoute, op: str, dst: str, via: str) -> None:
        try:
            ipr.route(op, dst=dst, gateway=via, proto=RT_PROTO)
            log.info("route %s %s via %s", "removed" if op == "del" else "set", dst, via)
        except NetlinkError as e:
            self._routes = None  # try again next time
            log.warning("route %s %s via %s failed: %s", op, dst, via, e)
