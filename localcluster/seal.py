"""The host's seal table: nothing from the cluster bridge leaves the machine.

One ``inet`` table (``coxswain-seal``), a ``netproxy`` plan written by
netproxy's encoder in a single netlink batch:

    chain forward   (hook forward, priority filter - 5)
        iifname BR oifname BR accept          # node <-> node through the host
        iifname BR counter drop               # "escaped": cluster -> elsewhere
        oifname BR counter drop               # "intruded": elsewhere -> cluster
    chain ingress   (hook ingress device BR, priority filter)
        ip daddr SERVICE counter              # untranslated ClusterIP traffic
        ip daddr CLUSTER counter              # pod traffic that reached the host

    chain input     (hook input, priority filter)
        meta l4proto . th dport vmap @raft_ports   # tcp . each master's Raft port
    chain raft
        ip saddr MASTER accept                # one rule per master address
        counter drop                          # anyone else: refused
    map raft_ports  { tcp . PORT : goto raft, ... }

Only masters may reach the Raft ports (the replicas also bind their own
address, never every interface, and drop an unauthenticated peer that sends
more than a handshake: docs/raftstore.md).

The ingress counters only count, and only what the bridge hands up to the
host itself (frames bridged from node to node never pass the bridge device's
ingress, whereas with br_netfilter they do pass the IPv4 prerouting hook).
Such packets die on the host's blackhole routes (a blackhole destination is
refused before the forward hook); the counters are how a test or an operator
sees that they did.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyroute2.nftables.main import NFTables

from netproxy.nftables import FAMILIES
from netproxy.plan import (
    NODEPORT_FIELDS,
    NODEPORT_KEY,
    Accept,
    Chain,
    Counter,
    Drop,
    Hook,
    MatchDaddrNet,
    MatchIfname,
    MatchNfprotoIpv4,
    MatchSaddr,
    Plan,
    Rule,
    VerdictMap,
    Vmap,
)
from netproxy.table import NftError, NftTable

from .spec import ClusterSpec

FAMILY = "inet"
PRIORITY_FILTER = 0

# Rule order inside each chain; counters are read back by position.
FORWARD_RULES = ("bridged", "escaped", "intruded")
INGRESS_RULES = ("service", "cluster")
RAFT_PORTS_MAP = "raft_ports"


@dataclass(frozen=True)
class SealCounters:
    escaped: int  # forwarded from the bridge to anywhere else: dropped
    intruded: int  # forwarded into the bridge from anywhere else: dropped
    service: int  # arrived untranslated for the service CIDR: blackholed
    cluster: int  # arrived for the pod CIDR: blackholed
    raft_refused: int  # for a master's Raft port from anywhere but a master: dropped


def _counted_daddr(cidr: str) -> Rule:
    return (MatchNfprotoIpv4(), MatchDaddrNet(cidr), Counter())


def plan(spec: ClusterSpec) -> Plan:
    """The seal table, rules in FORWARD_RULES / INGRESS_RULES order (pure)."""
    into_br, out_of_br = MatchIfname(spec.bridge), MatchIfname(spec.bridge, out=True)
    forward = Chain("forward", hook=Hook("forward", "filter", PRIORITY_FILTER - 5), rules=(
        (into_br, out_of_br, Accept()),
        (into_br, Counter(), Drop()),
        (out_of_br, Counter(), Drop()),
    ))
    ingress = Chain("ingress", hook=Hook("ingress", "filter", PRIORITY_FILTER, device=spec.bridge),
                    rules=(_counted_daddr(spec.service_cidr), _counted_daddr(spec.cluster_cidr)))
    masters = spec.all_masters()
    raft_input = Chain("input", hook=Hook("input", "filter", PRIORITY_FILTER),
                       rules=((Vmap(NODEPORT_FIELDS, RAFT_PORTS_MAP),),))
    master_addrs = sorted({m.raft_host for m in masters})
    raft = Chain("raft", rules=(*((MatchNfprotoIpv4(), MatchSaddr(a), Accept()) for a in master_addrs),
                                (Counter(), Drop())))
    raft_ports = VerdictMap(RAFT_PORTS_MAP, NODEPORT_KEY,
                            tuple((("tcp", m.raft_port), "raft") for m in masters))
    return Plan(spec.seal_table, (forward, ingress, raft_input, raft), maps=(raft_ports,),
                sets=(), family=FAMILY)


# ---- netlink --------------------------------------------------------------------


def _nft() -> NFTables:
    return NFTables(nfgen_family=FAMILIES[FAMILY])


def tables() -> set[str]:
    nft = _nft()
    try:
        return {t.get_attr("NFTA_TABLE_NAME") for t in nft.get_tables()}
    finally:
        nft.close()


def create(spec: ClusterSpec) -> None:
    """(Re)create the table with its chains and rules in one transaction,
    replacing one of the same name. The ingress chain is bound to the bridge
    device, so it follows the bridge."""
    table = NftTable(spec.seal_table, family=FAMILY)
    try:
        table.apply(plan(spec))
    except NftError as e:
        raise RuntimeError(f"the kernel did not accept nftables table {spec.seal_table}: "
                           f"{e}") from None
    finally:
        table.close()


def delete(table: str) -> None:
    """Remove the table; fine if it is not there."""
    t = NftTable(table, family=FAMILY)
    try:
        t.delete()
    finally:
        t.close()


def counters(table: str) -> SealCounters:
    """Packets counted by the seal rules, read back in rule order."""
    per_chain: dict[str, list[int]] = {"forward": [], "ingress": [], "raft": []}
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
    return SealCounters(escaped=fwd[1], intruded=fwd[2], service=pre[0], cluster=pre[1],
                        raft_refused=per_chain["raft"][-1] if per_chain["raft"] else 0)
