"""The host's seal table: nothing from the cluster bridge leaves the machine.

One ``inet`` table (``coxswain-seal``), programmed over netlink with pyroute2
in a single transaction:

    chain forward   (hook forward, priority filter - 5)
        iifname BR oifname BR accept          # node <-> node through the host
        iifname BR counter drop               # "escaped": cluster -> elsewhere
        oifname BR counter drop               # "intruded": elsewhere -> cluster
    chain ingress   (hook ingress device BR, priority filter)
        ip daddr SERVICE counter              # untranslated ClusterIP traffic
        ip daddr CLUSTER counter              # pod traffic that reached the host

The ingress counters only count, and only what the bridge hands up to the
host itself (frames bridged from node to node never pass the bridge device's
ingress, whereas with br_netfilter they do pass the IPv4 prerouting hook).
Such packets die on the host's blackhole routes (a blackhole destination is
refused before the forward hook); the counters are how a test or an operator
sees that they did.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from pyroute2.netlink.nfnetlink.nftsocket import NFT_MSG_NEWCHAIN, Cmp, Regs, nft_chain_msg
from pyroute2.nftables.expressions import genex, verdict
from pyroute2.nftables.main import NFTables

from .spec import ClusterSpec

NFPROTO_INET = 1
NFPROTO_IPV4 = 2
META_NFPROTO = 15
META_IIFNAME = 6
META_OIFNAME = 7
PAYLOAD_NETWORK_HEADER = 1
NF_DROP, NF_ACCEPT = 0, 1
PRIORITY_FILTER = 0
NF_INET_INGRESS = 5

# Rule order inside each chain; counters are read back by position.
FORWARD_RULES = ("bridged", "escaped", "intruded")
INGRESS_RULES = ("service", "cluster")


@dataclass(frozen=True)
class SealCounters:
    escaped: int  # forwarded from the bridge to anywhere else: dropped
    intruded: int  # forwarded into the bridge from anywhere else: dropped
    service: int  # arrived untranslated for the service CIDR: blackholed
    cluster: int  # arrived for the pod CIDR: blackholed


# ---- expressions --------------------------------------------------------------


def _meta(key: int) -> list:
    return [genex("meta", {"key": key, "dreg": Regs.NFT_REG_1})]


def _cmp(data: bytes, op: int = Cmp.NFT_CMP_EQ) -> list:
    return [genex("cmp", {"sreg": Regs.NFT_REG_1, "op": op,
                          "data": {"attrs": [("NFTA_DATA_VALUE", data)]}})]


def _ifname(name: str, op: int = Cmp.NFT_CMP_EQ, key: int = META_IIFNAME) -> list:
    return _meta(key) + _cmp(name.encode().ljust(16, b"\0"), op)


def _ip_daddr_in(cidr: str) -> list:
    net = ipaddress.IPv4Network(cidr)
    return (_meta(META_NFPROTO) + _cmp(bytes([NFPROTO_IPV4]))
            + [genex("payload", {"dreg": Regs.NFT_REG_1, "base": PAYLOAD_NETWORK_HEADER,
                                 "offset": 16, "len": 4}),
               genex("bitwise", {"sreg": Regs.NFT_REG_1, "dreg": Regs.NFT_REG_1, "len": 4,
                                 "mask": {"attrs": [("NFTA_DATA_VALUE", net.netmask.packed)]},
                                 "xor": {"attrs": [("NFTA_DATA_VALUE", b"\0\0\0\0")]}})]
            + _cmp(socket.inet_aton(str(net.network_address))))


def _counter() -> list:
    return [genex("counter", {"bytes": 0, "packets": 0})]


def rules(spec: ClusterSpec) -> dict[str, list[list]]:
    """The seal rules per chain, in FORWARD_RULES / INGRESS_RULES order (pure)."""
    br = spec.bridge
    return {
        "forward": [
            _ifname(br) + _ifname(br, key=META_OIFNAME) + verdict(NF_ACCEPT),
            _ifname(br) + _counter() + verdict(NF_DROP),
            _ifname(br, key=META_OIFNAME) + _counter() + verdict(NF_DROP),
        ],
        "ingress": [
            _ip_daddr_in(spec.service_cidr) + _counter(),
            _ip_daddr_in(spec.cluster_cidr) + _counter(),
        ],
    }


# ---- netlink --------------------------------------------------------------------


def _nft() -> NFTables:
    return NFTables(nfgen_family=NFPROTO_INET)


def tables() -> set[str]:
    nft = _nft()
    try:
        return {t.get_attr("NFTA_TABLE_NAME") for t in nft.get_tables()}
    finally:
        nft.close()


def create(spec: ClusterSpec) -> None:
    """(Re)create the table with its chains and rules in one transaction. The
    ingress chain is bound to the bridge device, so it follows the bridge."""
    delete(spec.seal_table)
    nft = _nft()
    try:
        nft.begin()
        nft.table("add", name=spec.seal_table)
        nft.chain("add", table=spec.seal_table, name="forward", hook="forward", type="filter",
                  policy=NF_ACCEPT, priority=PRIORITY_FILTER - 5)
        # pyroute2's chain() knows only the five IP hooks; a device-bound
        # ingress hook goes through its generic command path.
        ingress = {"table": spec.seal_table, "name": "ingress", "type": "filter",
                   "policy": NF_ACCEPT,
                   "hook": {"attrs": [["NFTA_HOOK_HOOKNUM", NF_INET_INGRESS],
                                      ["NFTA_HOOK_PRIORITY", PRIORITY_FILTER],
                                      ["NFTA_HOOK_DEV", spec.bridge]]}}
        nft._run_with_cleanup(nft.asyncore._command, nft_chain_msg,
                              {"add": NFT_MSG_NEWCHAIN}, "add", ingress)
        for chain, exprs in rules(spec).items():
            for expr in exprs:
                nft.rule("add", table=spec.seal_table, chain=chain, expressions=(expr,))
        nft.commit()
    finally:
        nft.close()
    # The batch's outcome is not reported back through pyroute2's sync API:
    # read the table back, so a refused rule fails here and not silently.
    try:
        counters(spec.seal_table)
    except LookupError:
        raise RuntimeError(f"the kernel did not accept nftables table {spec.seal_table}") from None


def delete(table: str) -> None:
    if table in tables():
        nft = _nft()
        try:
            nft.table("del", name=table)
        finally:
            nft.close()


def counters(table: str) -> SealCounters:
    """Packets counted by the seal rules, read back in rule order."""
    per_chain: dict[str, list[int]] = {"forward": [], "ingress": []}
    nft = _nft()
    try:
        for rule in nft.get_rules():
            if rule.get_attr("NFTA_RULE_TABLE") != table:
                continue
            packets = None
            for e in rule.get_attr("NFTA_RULE_EXPRESSIONS") or []:
                if e.get_attr("NFTA_EXPR_NAME") == "counter":
                    packets = e.get_attr("NFTA_EXPR_DATA").get_attr("NFTA_COUNTER_PACKETS")
            chain = rule.get_attr("NFTA_RULE_CHAIN")
            if chain in per_chain:
                per_chain[chain].append(packets or 0)
    finally:
        nft.close()
    fwd, pre = per_chain["forward"], per_chain["ingress"]
    if len(fwd) != len(FORWARD_RULES) or len(pre) != len(INGRESS_RULES):
        raise LookupError(f"nftables table {table} is missing or not a seal table")
    return SealCounters(escaped=fwd[1], intruded=fwd[2], service=pre[0], cluster=pre[1])
