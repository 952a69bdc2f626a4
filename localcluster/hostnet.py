"""The host side of the local cluster network, over netlink (pyroute2): the
bridge, the node namespaces and their veths, addresses, default routes,
sysctls, and the blackhole routes for the pod and service CIDRs.

Every function is idempotent: creating what exists or deleting what is gone
is not an error, so ``up`` and ``down`` can both be run twice.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shutil
import subprocess
import threading
from contextlib import suppress

from pyroute2 import IPRoute, NetlinkError, NetNS, netns

from .spec import ClusterSpec, NodeSpec

RT_BLACKHOLE = 6  # rtm_type
RTPROT_STATIC = 4


class NetworkError(RuntimeError):
    """A kernel object could not be created or removed."""


# ---- observation -------------------------------------------------------------


def host_links() -> set[str]:
    with IPRoute() as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def namespaces() -> set[str]:
    return set(netns.listnetns())


def blackholes() -> set[str]:
    with IPRoute() as ipr:
        return {f"{r.get_attr('RTA_DST')}/{r['dst_len']}"
                for r in ipr.get_routes(family=2, table=254) if r["type"] == RT_BLACKHOLE}


def uplinks() -> set[str]:
    """Interfaces that carry the host's default routes: the way off the machine."""
    with IPRoute() as ipr:
        out = set()
        for r in ipr.get_routes(family=2, table=254):
            if r["dst_len"] == 0 and r.get_attr("RTA_OIF"):
                out.add(ipr.get_links(r.get_attr("RTA_OIF"))[0].get_attr("IFLA_IFNAME"))
        return out


# ---- bridge ------------------------------------------------------------------


def ensure_bridge(spec: ClusterSpec, alias: str) -> None:
    """The bridge, up, with its address; ``alias`` names the owning cluster."""
    with IPRoute() as ipr:
        if not ipr.link_lookup(ifname=spec.bridge):
            _nl(lambda: ipr.link("add", ifname=spec.bridge, kind="bridge"), f"create {spec.bridge}")
            idx = ipr.link_lookup(ifname=spec.bridge)[0]
            ipr.link("set", index=idx, ifalias=alias)
        idx = ipr.link_lookup(ifname=spec.bridge)[0]
        _add_address(ipr, idx, spec.bridge_address, spec.network.prefixlen)
        ipr.link("set", index=idx, state="up")


def link_alias(name: str) -> str | None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if not found:
            return None
        return ipr.get_links(found[0])[0].get_attr("IFLA_IFALIAS")


def delete_link(name: str) -> None:
    with IPRoute() as ipr:
        found = ipr.link_lookup(ifname=name)
        if found:
            with suppress(NetlinkError):
                ipr.link("del", index=found[0])


# ---- node namespaces -----------------------------------------------------------


def ensure_netns(node: NodeSpec) -> None:
    if node.netns not in namespaces():
        netns.create(node.netns)


def netns_users(name: str) -> list[int]:
    """Pids of processes still living in namespace ``name``: they keep it (and
    whatever is inside) alive after its name is removed."""
    try:
        st = os.stat(f"/run/netns/{name}")
    except OSError:
        return []
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ns = os.stat(f"/proc/{entry.name}/ns/net")
        except OSError:
            continue
        if (ns.st_dev, ns.st_ino) == (st.st_dev, st.st_ino):
            pids.append(int(entry.name))
    return sorted(pids)


def delete_netns(node: NodeSpec) -> None:
    if node.netns in namespaces():
        try:
            netns.remove(node.netns)
        except OSError as e:
            raise NetworkError(f"cannot remove namespace {node.netns}: {e}") from None


def ensure_veth(spec: ClusterSpec, node: NodeSpec) -> None:
    """A veth pair: ``<prefix>-nK-h`` on the host bridge, ``eth0`` inside the node."""
    with IPRoute() as ipr:
        if ipr.link_lookup(ifname=node.veth_host):
            return
        # Created with a temporary peer name in the host (``eth0`` may exist
        # here), then moved into the namespace and renamed there.
        peer = f"{node.veth_host[:-2]}-p"
        _nl(lambda: ipr.link("add", ifname=node.veth_host, kind="veth", peer=peer),
            f"create veth {node.veth_host}")
        peer_idx = ipr.link_lookup(ifname=peer)[0]
        ipr.link("set", index=peer_idx, net_ns_fd=node.netns)
    with NetNS(node.netns) as ns:
        idx = ns.link_lookup(ifname=peer)
        if idx:
            ns.link("set", index=idx[0], ifname="eth0")


def configure_node(spec: ClusterSpec, node: NodeSpec) -> None:
    """Attach the host end to the bridge, address ``eth0``, bring ``lo`` up,
    route by default through the bridge address, and forward inside the node
    (its pods live behind it)."""
    with IPRoute() as ipr:
        br = ipr.link_lookup(ifname=spec.bridge)[0]
        idx = ipr.link_lookup(ifname=node.veth_host)[0]
        ipr.link("set", index=idx, master=br, state="up")
    with NetNS(node.netns) as ns:
        lo = ns.link_lookup(ifname="lo")[0]
        ns.link("set", index=lo, state="up")
        eth = ns.link_lookup(ifname="eth0")
        if not eth:
            raise NetworkError(f"namespace {node.netns} has no eth0; run cox cluster down first")
        _add_address(ns, eth[0], node.address, node.prefixlen)
        ns.link("set", index=eth[0], state="up")
        _nl(lambda: ns.route("replace", dst="0.0.0.0/0", gateway=node.gateway, oif=eth[0]),
            f"default route in {node.netns}")
    netns_sysctl(node.netns, "net/ipv4/ip_forward", "1")


def netns_sysctl(name: str, key: str, value: str) -> None:
    """Write /proc/sys/KEY as seen from inside namespace NAME. /proc/sys/net
    follows the network namespace of the task that opens it, so a short-lived
    thread joins the namespace (setns changes only the calling thread) and
    writes; the rest of the process never leaves the host namespace."""
    errors: list[BaseException] = []

    def write() -> None:
        try:
            netns.setns(name, flags=0)
            with open(f"/proc/sys/{key}", "w") as f:
                f.write(value)
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            errors.append(e)

    t = threading.Thread(target=write, name=f"sysctl-{name}")
    t.start()
    t.join()
    if errors:
        raise NetworkError(f"cannot set {key}={value} in namespace {name}: {errors[0]}")


# ---- blackhole routes ------------------------------------------------------------


def add_blackhole(cidr: str) -> None:
    net = ipaddress.IPv4Network(cidr)
    with IPRoute() as ipr:
        try:
            ipr.route("add", dst=str(net.network_address), dst_len=net.prefixlen,
                      type=RT_BLACKHOLE, proto=RTPROT_STATIC)
        except NetlinkError as e:
            if e.code != errno.EEXIST:
                raise NetworkError(f"cannot add blackhole route {cidr}: {e}") from None


def delete_blackhole(cidr: str) -> None:
    net = ipaddress.IPv4Network(cidr)
    with IPRoute() as ipr, suppress(NetlinkError):
        ipr.route("del", dst=str(net.network_address), dst_len=net.prefixlen, type=RT_BLACKHOLE)


# ---- the host firewall's forward policy ----------------------------------------------
#
# With br_netfilter loaded (Docker loads it), frames bridged between two node
# namespaces pass the host's IPv4 forward hook, where Docker's filter table has
# a DROP policy. An nftables accept in our own table cannot override another
# table's drop, so node-to-node traffic needs an accept in Docker's
# DOCKER-USER chain, through iptables (that table belongs to iptables-nft).


def _iptables() -> str | None:
    return shutil.which("iptables")


def _forward_rule(bridge: str) -> list[str]:
    return ["-i", bridge, "-o", bridge, "-m", "comment", "--comment", f"coxswain {bridge}",
            "-j", "ACCEPT"]


def forward_filter_present() -> bool:
    ipt = _iptables()
    return ipt is not None and _run([ipt, "-w", "-S", "DOCKER-USER"]) == 0


def forward_allowed(bridge: str) -> bool:
    ipt = _iptables()
    return ipt is not None and _run([ipt, "-w", "-C", "DOCKER-USER", *_forward_rule(bridge)]) == 0


def allow_forward(bridge: str) -> None:
    ipt = _iptables()
    if (ipt and not forward_allowed(bridge)
            and _run([ipt, "-w", "-I", "DOCKER-USER", *_forward_rule(bridge)]) != 0):
        raise NetworkError(f"cannot let {bridge} traffic through DOCKER-USER")


def disallow_forward(bridge: str) -> None:
    ipt = _iptables()
    while ipt and forward_allowed(bridge):
        if _run([ipt, "-w", "-D", "DOCKER-USER", *_forward_rule(bridge)]) != 0:
            raise NetworkError(f"cannot remove the {bridge} rule from DOCKER-USER")


def _run(argv: list[str]) -> int:
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode


# ---- helpers -----------------------------------------------------------------


def _add_address(ipr: IPRoute | NetNS, idx: int, address: str, prefixlen: int) -> None:
    try:
        ipr.addr("add", index=idx, address=address, prefixlen=prefixlen)
    except NetlinkError as e:
        if e.code != errno.EEXIST:
            raise NetworkError(f"cannot add address {address}/{prefixlen}: {e}") from None


def _nl(fn, what: str) -> None:
    try:
        fn()
    except NetlinkError as e:
        raise NetworkError(f"{what}: {e}") from None
