"""The service proxy's nftables table, computed as a pure plan.

``build_plan(services, endpoints, node_addresses)`` turns Kubernetes-shaped
Service and Endpoints dicts into a ``Plan``: the complete contents of one
nftables table (chains with rules, verdict maps, sets). Nothing here touches
the kernel; ``netproxy.nftables`` encodes a plan to netlink and
``netproxy.render`` prints it in nft syntax.

The table (family ``ip``), in nft terms::

    chain nat-prerouting  { type nat hook prerouting priority dstnat; jump services }
    chain nat-output      { type nat hook output priority dstnat; jump services }
    chain nat-postrouting { type nat hook postrouting priority srcnat;
                            meta mark & MASQ != 0 meta mark set mark ^ MASQ masquerade }
    chain services {
        ip daddr . meta l4proto . th dport vmap @service-ips
        ip daddr @node-ips meta l4proto . th dport vmap @service-nodeports }
    chain filter-prerouting / filter-output { type filter ... priority dstnat - 10;
                                              ct state new jump endpoints-check }
    chain endpoints-check {
        ip daddr . meta l4proto . th dport vmap @no-endpoint-services
        ip daddr @node-ips meta l4proto . th dport vmap @no-endpoint-nodeports }
    chain reject { meta l4proto tcp reject with tcp reset; reject }

and per service port ``svc-<ns>/<name>/<proto>/<port>`` (a random endpoint:
``numgen random mod N == 0 goto ep-1; numgen random mod N-1 == 0 goto ep-2; ...``), ``ext-...`` for NodePort traffic
(marked for masquerade, then the service chain) and one ``ep-...`` chain per
ready endpoint (hairpin mark when the source is the endpoint itself, then
DNAT). A service port without ready endpoints is in the ``no-endpoint-*``
maps instead, so connections are refused at once.

Every structure is a frozen dataclass with sorted contents, so two plans
from the same input compare equal and an unchanged re-sync writes nothing.
The same building blocks describe other tables too (``localcluster.seal``:
an ``inet`` table with a device-bound ingress chain).
"""

from __future__ import annotations

import bisect
import hashlib
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain as concat
from operator import attrgetter
from typing import Any

TABLE = "coxswain-proxy"
MASQ_MARK = 0x4000  # the bit kube-proxy uses for "masquerade this packet"
PROTOCOLS = ("TCP", "UDP")
NAT_PRIORITY_DST = -100
NAT_PRIORITY_SRC = 100
FILTER_PRIORITY = -110  # before DNAT: a service without endpoints is refused as addressed

SERVICE_IPS = "service-ips"
SERVICE_NODEPORTS = "service-nodeports"
NO_ENDPOINT_SERVICES = "no-endpoint-services"
NO_ENDPOINT_NODEPORTS = "no-endpoint-nodeports"
NODE_IPS = "node-ips"
REJECT_CHAIN = "reject"

# Key types of the maps/sets, named as nft names them.
VIP_KEY = ("ipv4_addr", "inet_proto", "inet_service")
NODEPORT_KEY = ("inet_proto", "inet_service")
ADDR_KEY = ("ipv4_addr",)
# Packet fields a lookup loads into its key, in key order.
VIP_FIELDS = ("ip daddr", "meta l4proto", "th dport")
NODEPORT_FIELDS = ("meta l4proto", "th dport")

MAX_NAME = 240  # nftables object names are at most 255 bytes

Obj = Mapping[str, Any]


# ---- rule statements -------------------------------------------------------

@dataclass(frozen=True)
class MatchProto:
    """``meta l4proto tcp|udp``"""
    proto: str


@dataclass(frozen=True)
class MatchSaddr:
    """``ip saddr A``"""
    ip: str


@dataclass(frozen=True)
class MatchDaddrIn:
    """``ip daddr @set``"""
    set: str


@dataclass(frozen=True)
class MatchCtNew:
    """``ct state new``"""


@dataclass(frozen=True)
class MatchMark:
    """``meta mark & M != 0``"""
    mask: int


@dataclass(frozen=True)
class SetMark:
    """``meta mark set mark | M``"""
    mask: int


@dataclass(frozen=True)
class ClearMark:
    """``meta mark set mark ^ M`` (only after MatchMark: the bit is known set)"""
    mask: int


@dataclass(frozen=True)
class Vmap:
    """``<fields joined by .> vmap @map``"""
    fields: tuple[str, ...]
    map: str


@dataclass(frozen=True)
class NumgenIs:
    """``numgen random mod N == V`` (a fresh random number per rule)"""
    modulus: int
    value: int


@dataclass(frozen=True)
class Dnat:
    """``dnat to ip:port``"""
    ip: str
    port: int


@dataclass(frozen=True)
class Masquerade:
    """``masquerade``"""


@dataclass(frozen=True)
class Reject:
    """``reject with tcp reset`` or ``reject`` (icmp port-unreachable)"""
    tcp_reset: bool


@dataclass(frozen=True)
class MatchIfname:
    """``iifname NAME``, or with ``out`` ``oifname NAME``"""
    name: str
    out: bool = False


@dataclass(frozen=True)
class MatchNfprotoIpv4:
    """``meta nfproto ipv4`` (in an ``inet`` table, what an ``ip ...`` match needs first)"""


@dataclass(frozen=True)
class MatchDaddrNet:
    """``ip daddr A.B.C.D/N``"""
    cidr: str


@dataclass(frozen=True)
class Counter:
    """``counter``"""


@dataclass(frozen=True)
class Accept:
    """``accept``"""


@dataclass(frozen=True)
class Drop:
    """``drop``"""


@dataclass(frozen=True)
class Jump:
    chain: str


@dataclass(frozen=True)
class Goto:
    chain: str


Statement = (MatchProto | MatchSaddr | MatchDaddrIn | MatchCtNew | MatchMark | SetMark | ClearMark | Vmap
             | NumgenIs | Dnat | Masquerade | Reject | MatchIfname | MatchNfprotoIpv4
             | MatchDaddrNet | Counter | Accept | Drop | Jump | Goto)
Rule = tuple[Statement, ...]


# ---- table objects -----------------------------------------------------------

@dataclass(frozen=True)
class Hook:
    hook: str  # prerouting | input | forward | output | postrouting | ingress (inet only)
    type: str  # nat | filter
    priority: int
    device: str | None = None  # the device an ingress hook is bound to


@dataclass(frozen=True)
class Chain:
    name: str
    rules: tuple[Rule, ...] = ()
    hook: Hook | None = None


@dataclass(frozen=True)
class VerdictMap:
    """A named map from ``key`` (a tuple of nft type names) to ``goto <chain>``.
    Element keys are tuples of values: ``("10.96.0.1", "tcp", 80)`` or ``(0,)``."""
    name: str
    key: tuple[str, ...]
    elements: tuple[tuple[tuple[str | int, ...], str], ...] = ()


@dataclass(frozen=True)
class AddrSet:
    name: str
    elements: tuple[str, ...] = ()
    key: tuple[str, ...] = ADDR_KEY


@dataclass(frozen=True)
class Route:
    """A service port and its ready endpoints: what stale conntrack entries
    are checked against when endpoints change."""
    protocol: str  # TCP | UDP
    cluster_ip: str | None
    port: int
    node_port: int | None
    endpoints: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Plan:
    table: str
    chains: tuple[Chain, ...]
    maps: tuple[VerdictMap, ...]
    sets: tuple[AddrSet, ...]
    routes: tuple[Route, ...] = ()
    # Why some input was left out; not part of the table, so not compared.
    notes: tuple[str, ...] = field(default=(), compare=False)
    family: str = "ip"  # the table's nftables family: ip | inet

    def chain(self, name: str) -> Chain:
        return next(c for c in self.chains if c.name == name)

    def map(self, name: str) -> VerdictMap:
        return next(m for m in self.maps if m.name == name)

    def stats(self) -> dict[str, int]:
        return {
            "chains": len(self.chains),
            # map/attrgetter: no Python-level loop over thousands of chains
            "rules": sum(map(len, map(_RULES, self.chains))),
            "maps": len(self.maps),
            "elements": sum(len(m.elements) for m in self.maps)
            + sum(len(s.elements) for s in self.sets),
        }


_RULES = attrgetter("rules")


# ---- input ---------------------------------------------------------------------

@dataclass(frozen=True)
class ServicePort:
    namespace: str
    service: str
    name: str
    protocol: str
    port: int
    node_port: int | None
    cluster_ip: str | None


class BadObject(ValueError):
    """An object that cannot be proxied; the message names the field."""


def _ipv4(value: Any, what: str) -> str:
    try:
        # inet_pton: strict dotted quad, and ~10x faster than ipaddress
        return socket.inet_ntop(socket.AF_INET, socket.inet_pton(socket.AF_INET, value))
    except (OSError, TypeError):
        raise BadObject(f"{what}: {value!r} is not an IPv4 address") from None


def _ip_order(ip: str) -> bytes:
    return socket.inet_aton(ip)


def _port(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise BadObject(f"{what}: {value!r} is not a port number (1-65535)")
    return value


def _describe(obj: Any) -> str:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict):
        return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
    return "?"


def object_key(obj: Obj) -> tuple[str, str]:
    """(namespace, name): what the planner knows a Service and its Endpoints by."""
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise BadObject("metadata.name is missing")
    return (meta.get("namespace") or "default", name)


def service_ports(svc: Obj, notes: list[str]) -> list[ServicePort]:
    """The proxied ports of one Service. A port that cannot be proxied is
    left out with a note naming the field; a bad ``clusterIP`` or name
    raises ``BadObject``."""
    ns, name = object_key(svc)
    spec = svc.get("spec") or {}
    where = f"service {ns}/{name}"
    svc_type = spec.get("type") or "ClusterIP"
    if svc_type == "ExternalName":
        return []
    cluster_ip = spec.get("clusterIP")
    if cluster_ip in (None, "", "None"):
        cluster_ip = None  # headless or not allocated yet: nothing to translate
    else:
        cluster_ip = _ipv4(cluster_ip, f"{where}: spec.clusterIP")
    with_node_ports = svc_type in ("NodePort", "LoadBalancer")
    out = []
    for i, p in enumerate(spec.get("ports") or []):
        field_ = f"{where}: spec.ports[{i}]"
        try:
            if not isinstance(p, dict):
                raise BadObject(f"{field_}: not an object")
            proto = str(p.get("protocol") or "TCP").upper()
            if proto not in PROTOCOLS:
                raise BadObject(f"{field_}.protocol: {proto!r} is not proxied (TCP or UDP)")
            port = _port(p.get("port"), f"{field_}.port")
            node_port = None
            if with_node_ports and p.get("nodePort") is not None:
                node_port = _port(p.get("nodePort"), f"{field_}.nodePort")
        except BadObject as e:
            notes.append(str(e))
            continue
        if cluster_ip is None and node_port is None:
            continue
        out.append(ServicePort(ns, name, str(p.get("name") or ""), proto, port, node_port,
                               cluster_ip))
    return out


def ready_endpoints(ep: Obj | None, sp: ServicePort) -> tuple[tuple[str, int], ...]:
    """Ready (ip, port) pairs of ``ep`` serving service port ``sp``.

    Endpoints ports carry the service port's name (as the endpoints
    controller writes them); ``notReadyAddresses`` never receive traffic.
    """
    if not ep:
        return ()
    found: set[tuple[str, int]] = set()
    for subset in ep.get("subsets") or []:
        ports = [p for p in subset.get("ports") or []
                 if (p.get("protocol") or "TCP").upper() == sp.protocol]
        match = [p for p in ports if (p.get("name") or "") == sp.name]
        if not match and not sp.name and len(ports) == 1:
            match = ports  # an unnamed single port may come back unnamed or named
        for p in match:
            port = p.get("port")
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                continue
            for addr in subset.get("addresses") or []:
                try:
                    found.add((_ipv4(addr.get("ip"), "ip"), port))
                except BadObject:
                    continue
    return tuple(sorted(found, key=lambda e: (_ip_order(e[0]), e[1])))


# ---- naming ----------------------------------------------------------------------

def _name(prefix: str, *parts: str) -> str:
    name = prefix + "-" + "/".join(parts)
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return name[: MAX_NAME - 17] + "~" + digest


def _port_key(sp: ServicePort) -> tuple[str, ...]:
    return (sp.namespace, sp.service, sp.protocol.lower(), sp.name or str(sp.port))


def service_chain_name(sp: ServicePort) -> str:
    return _name("svc", *_port_key(sp))


def external_chain_name(sp: ServicePort) -> str:
    return _name("ext", *_port_key(sp))


def endpoint_chain_name(sp: ServicePort, ip: str, port: int) -> str:
    return _name("ep", *_port_key(sp), f"{ip}:{port}")


# ---- the plan ------------------------------------------------------------------------

def pick_one(targets: list[str]) -> tuple[Rule, ...]:
    """Rules that go to one of ``targets`` uniformly at random: rule i is
    taken with probability 1/(n-i) when the ones before it were not, as
    kube-proxy's iptables mode does. Plain rules rather than a numgen verdict
    map per service: the kernel finds sets by name with a linear walk, so
    thousands of per-service maps make a sync quadratic."""
    n = len(targets)
    rules: list[Rule] = [(NumgenIs(n - i, 0), Goto(t)) for i, t in enumerate(targets[:-1])]
    rules.append((Goto(targets[-1]),))
    return tuple(rules)


def _fixed_chains(has_node_ips: bool) -> list[Chain]:
    services: list[Rule] = [(Vmap(VIP_FIELDS, SERVICE_IPS),)]
    check: list[Rule] = [(Vmap(VIP_FIELDS, NO_ENDPOINT_SERVICES),)]
    if has_node_ips:
        services.append((MatchDaddrIn(NODE_IPS), Vmap(NODEPORT_FIELDS, SERVICE_NODEPORTS)))
        check.append((MatchDaddrIn(NODE_IPS), Vmap(NODEPORT_FIELDS, NO_ENDPOINT_NODEPORTS)))
    return [
        Chain("nat-prerouting", ((Jump("services"),),), Hook("prerouting", "nat", NAT_PRIORITY_DST)),
        Chain("nat-output", ((Jump("services"),),), Hook("output", "nat", NAT_PRIORITY_DST)),
        Chain("nat-postrouting",
              ((MatchMark(MASQ_MARK), ClearMark(MASQ_MARK), Masquerade()),),
              Hook("postrouting", "nat", NAT_PRIORITY_SRC)),
        Chain("services", tuple(services)),
        # Only new connections: established ones keep their (unready) endpoint.
        Chain("filter-prerouting", ((MatchCtNew(), Jump("endpoints-check")),),
              Hook("prerouting", "filter", FILTER_PRIORITY)),
        Chain("filter-output", ((MatchCtNew(), Jump("endpoints-check")),),
              Hook("output", "filter", FILTER_PRIORITY)),
        Chain("endpoints-check", tuple(check)),
        Chain(REJECT_CHAIN, ((MatchProto("tcp"), Reject(tcp_reset=True)),
                             (Reject(tcp_reset=False),))),
    ]


def build_plan(services: Iterable[Obj], endpoints: Iterable[Obj],
               node_addresses: Iterable[str] = (), table: str = TABLE) -> Plan:
    """The whole proxy table for these Services, Endpoints and node addresses.

    A Service or port that cannot be proxied (bad address, SCTP, ...) is left
    out and explained in ``plan.notes``; it never stops the others.
    """
    return Planner(table).plan(services, endpoints, node_addresses)


@dataclass(frozen=True)
class _PortPart:
    """What one service port adds to the table, before conflicts between
    services are settled."""
    sp: ServicePort
    vip_key: tuple | None
    np_key: tuple | None
    chains: tuple[Chain, ...]  # endpoint chains then the service chain; () without endpoints
    ext: Chain | None  # the NodePort chain, kept only if no other service has the nodePort
    # map elements (to the reject chain without endpoints), built once so that
    # unchanged ones are the same objects in the next plan
    vip_elem: tuple[tuple, str] | None
    np_elem: tuple[tuple, str] | None
    route: Route
    note: str | None  # malformed endpoints

    # The elements' sort keys, computed once with them: sorting thousands of
    # map elements on every sync must not parse their addresses again.
    @cached_property
    def vip_order(self) -> tuple:
        return _elem_order(self.vip_elem) if self.vip_elem else ()

    @cached_property
    def np_order(self) -> tuple:
        return _elem_order(self.np_elem) if self.np_elem else ()


@dataclass(frozen=True)
class _Fragment:
    """Everything one Service (by namespace/name) contributes, computed from
    its objects alone, so an unchanged Service is never planned again."""
    services: tuple[Obj, ...]
    endpoints: Obj | None
    parts: tuple[_PortPart, ...]
    notes: tuple[str, ...]  # about the Service objects themselves

    def made_from(self, services: tuple[Obj, ...], endpoints: Obj | None) -> bool:
        # Identity first: informers hand out the same objects until they change.
        return ((self.endpoints is endpoints or self.endpoints == endpoints)
                and len(self.services) == len(services)
                and all(a is b or a == b for a, b in zip(self.services, services, strict=True)))


def _port_part(sp: ServicePort, ep: Obj | None) -> _PortPart:
    proto = sp.protocol.lower()
    vip_key = (sp.cluster_ip, proto, sp.port) if sp.cluster_ip else None
    np_key = (proto, sp.node_port) if sp.node_port else None
    note = None
    try:
        eps = ready_endpoints(ep, sp)
    except (AttributeError, TypeError) as e:
        note = f"endpoints {sp.namespace}/{sp.service}: malformed ({e})"
        eps = ()
    route = Route(sp.protocol, sp.cluster_ip, sp.port, sp.node_port, eps)
    if not eps:
        return _PortPart(sp, vip_key, np_key, (), None, (vip_key, REJECT_CHAIN) if vip_key
                         else None, (np_key, REJECT_CHAIN) if np_key else None, route, note)
    svc_chain = service_chain_name(sp)
    chains = []
    for ip, port in eps:
        chains.append(Chain(endpoint_chain_name(sp, ip, port), (
            (MatchSaddr(ip), SetMark(MASQ_MARK)),  # hairpin: a pod reaching itself
            (MatchProto(proto), Dnat(ip, port)),
        )))
    chains.append(Chain(svc_chain, pick_one([c.name for c in chains])))
    ext = external_chain_name(sp) if np_key else None
    return _PortPart(sp, vip_key, np_key, tuple(chains),
                     Chain(ext, ((SetMark(MASQ_MARK),), (Goto(svc_chain),))) if ext else None,
                     (vip_key, svc_chain) if vip_key else None,
                     (np_key, ext) if np_key and ext else None, route, note)


def _fragment(services: tuple[Obj, ...], ep: Obj | None) -> _Fragment:
    notes: list[str] = []
    ports: list[ServicePort] = []
    for svc in services:
        try:
            ports.extend(service_ports(svc, notes))
        except BadObject as e:
            notes.append(str(e))
        except (AttributeError, TypeError) as e:  # malformed beyond the schema
            notes.append(f"service {_describe(svc)}: malformed ({e})")
    ports.sort(key=_port_key)
    return _Fragment(services, ep, tuple(_port_part(sp, ep) for sp in ports), tuple(notes))


@dataclass(frozen=True)
class Change:
    """How a Planner's plan differs from its previous one, by Service: the
    parts of the Services that changed, before and after (``netproxy.delta.
    from_change`` turns them into table edits without comparing whole plans)."""
    previous: Plan
    before: tuple[_Fragment, ...]
    after: tuple[_Fragment, ...]


Key = tuple[str, str]  # a Service's (namespace, name)
# What may have changed about one Service: its objects now (none: it is gone)
# and its Endpoints (None: there are none).
Objects = tuple[Sequence[Obj], Obj | None]

# The verdict maps in the plan's (name) order, and their key types.
_MAPS = {NO_ENDPOINT_NODEPORTS: NODEPORT_KEY, NO_ENDPOINT_SERVICES: VIP_KEY,
         SERVICE_IPS: VIP_KEY, SERVICE_NODEPORTS: NODEPORT_KEY}
# Built once: plans share them, so comparing two plans skips them by identity.
_FIXED = {has: tuple(_fixed_chains(has)) for has in (False, True)}


class _Contents:
    """What the Services' parts put in the table, kept in table order (the
    Services by key, each one's chains; each map's elements sorted), so one
    Service can be taken out or put in without going over the others."""

    def __init__(self) -> None:
        self.order: list[Key] = []  # every Service's key, sorted
        self.chains: list[tuple[Chain, ...]] = []  # each one's chains, in that order
        self.routes: list[tuple[Route, ...]] = []  # each one's routes, in that order
        self.notes: dict[Key, tuple[str, ...]] = {}  # only Services with notes
        self.claims: dict[tuple, Key] = {}  # ClusterIP:port and nodePort keys -> their Service
        # per map: the elements' sort keys and the elements, in that order
        self.elements: dict[str, tuple[list[tuple], list[tuple]]] = {m: ([], []) for m in _MAPS}
        self._maps: dict[str, VerdictMap] = {}  # built maps, until their elements change

    def put(self, key: Key, frag: _Fragment) -> bool:
        """Add one Service's parts, in port order. A port whose ClusterIP:port
        or nodePort another port has claimed loses it (with a note): False then."""
        clean = True
        chains: list[Chain] = []
        routes: list[Route] = []
        notes = list(frag.notes)
        for part in frag.parts:
            vip_key, np_key = part.vip_key, part.np_key
            sp = part.sp
            if vip_key in self.claims:
                clean = False
                notes.append(f"service {sp.namespace}/{sp.service}: {sp.cluster_ip}:{sp.port}/"
                             f"{sp.protocol.lower()} is already used by another service; skipped")
                continue
            if np_key in self.claims:
                clean = False
                notes.append(f"service {sp.namespace}/{sp.service}: nodePort {sp.node_port}/"
                             f"{sp.protocol.lower()} is already used by another service; ignored")
                np_key = None
            if part.note:
                notes.append(part.note)
            routes.append(part.route)
            if vip_key:
                self.claims[vip_key] = key
            if np_key:
                self.claims[np_key] = key
            if not part.chains:
                if vip_key:
                    self._insert(NO_ENDPOINT_SERVICES, part.vip_order, part.vip_elem)
                if np_key:
                    self._insert(NO_ENDPOINT_NODEPORTS, part.np_order, part.np_elem)
                continue
            chains.extend(part.chains)
            if vip_key:
                self._insert(SERVICE_IPS, part.vip_order, part.vip_elem)
            if np_key and part.ext is not None:
                chains.append(part.ext)
                self._insert(SERVICE_NODEPORTS, part.np_order, part.np_elem)
        i = bisect.bisect_left(self.order, key)
        self.order.insert(i, key)
        self.chains.insert(i, tuple(chains))
        self.routes.insert(i, tuple(routes))
        if notes:
            self.notes[key] = tuple(notes)
        return clean

    def take(self, key: Key, frag: _Fragment) -> None:
        """Undo ``put(key, frag)``, which claimed all it asked for."""
        for part in frag.parts:
            if part.vip_key:
                del self.claims[part.vip_key]
            if part.np_key:
                del self.claims[part.np_key]
            if not part.chains:
                if part.vip_key:
                    self._remove(NO_ENDPOINT_SERVICES, part.vip_order)
                if part.np_key:
                    self._remove(NO_ENDPOINT_NODEPORTS, part.np_order)
                continue
            if part.vip_key:
                self._remove(SERVICE_IPS, part.vip_order)
            if part.np_key and part.ext is not None:
                self._remove(SERVICE_NODEPORTS, part.np_order)
        i = bisect.bisect_left(self.order, key)
        del self.order[i], self.chains[i], self.routes[i]
        self.notes.pop(key, None)

    def _insert(self, name: str, order: tuple, elem: Any) -> None:
        orders, elems = self.elements[name]
        i = bisect.bisect_left(orders, order)
        orders.insert(i, order)
        elems.insert(i, elem)
        self._maps.pop(name, None)

    def _remove(self, name: str, order: tuple) -> None:
        orders, elems = self.elements[name]
        i = bisect.bisect_left(orders, order)
        del orders[i], elems[i]
        self._maps.pop(name, None)

    def plan(self, table: str, node_ips: tuple[str, ...], notes: list[str]) -> Plan:
        """The table: copies of the kept lists (no Python loop over Services)."""
        for name, key in _MAPS.items():
            if name not in self._maps:
                self._maps[name] = VerdictMap(name, key, tuple(self.elements[name][1]))
        chains = tuple(concat(_FIXED[bool(node_ips)], concat.from_iterable(self.chains)))
        routes = tuple(concat.from_iterable(self.routes))
        notes.extend(concat.from_iterable(self.notes[k] for k in sorted(self.notes)))
        return Plan(table, chains, tuple(self._maps[name] for name in _MAPS),
                    (AddrSet(NODE_IPS, node_ips),), routes, tuple(notes))


class Planner:
    """``build_plan`` that remembers what each Service contributed, so that
    one changed Service costs that Service's planning, not the others'.

    ``plan`` takes every object (a first plan, a resync) and reuses the part
    of each Service whose objects are the same (as an informer's list hands
    them out); ``update`` takes only the Services that may have changed since
    the last plan, and costs O(those Services) plus copying the kept table
    contents into the new ``Plan``. Unchanged chains and elements are the very
    objects of the last plan (which makes comparing and diffing plans cheap).

    ``change`` says what changed since the previous plan, Service by Service;
    None when that does not describe it (the first plan, two ports claiming
    one address, node addresses appearing or all going). While a claim
    clashes, every plan is assembled afresh from all Services' parts: which
    port keeps the address depends on all of them."""

    _fragments: dict[Key, _Fragment]
    _contents: _Contents  # the last plan's, unless it had a clash
    change: Change | None
    _last: Plan | None
    _clashed: bool  # the last plan had a port claim refused (or there is none)
    _node_ips: tuple[str, ...]
    _unkeyed: tuple[str, ...]  # notes on objects without a name, from ``plan``

    def __init__(self, table: str = TABLE) -> None:
        self.table = table
        self.planned = 0  # Services planned afresh (not reused), for tests and benches
        self._forget()

    def _forget(self) -> None:
        self._fragments, self._contents = {}, _Contents()
        self.change, self._last, self._clashed = None, None, True
        self._node_ips = self._unkeyed = ()

    @property
    def has_plan(self) -> bool:
        """Whether ``update`` may be used (there is a last plan to update)."""
        return self._last is not None

    def plan(self, services: Iterable[Obj], endpoints: Iterable[Obj],
             node_addresses: Iterable[str] = ()) -> Plan:
        """The table for all these objects."""
        unkeyed: list[str] = []
        eps_by_key: dict[Key, Obj] = {}
        for ep in endpoints:
            try:
                eps_by_key[object_key(ep)] = ep
            except (BadObject, AttributeError) as e:
                unkeyed.append(f"endpoints {_describe(ep)}: {e}")
        by_key: dict[Key, list[Obj]] = {}
        for svc in services:
            try:
                by_key.setdefault(object_key(svc), []).append(svc)
            except BadObject as e:
                unkeyed.append(str(e))
            except (AttributeError, TypeError) as e:  # malformed beyond the schema
                unkeyed.append(f"service {_describe(svc)}: malformed ({e})")
        changes: dict[Key, Objects] = {k: (v, eps_by_key.get(k)) for k, v in by_key.items()}
        changes.update((k, ((), None)) for k in self._fragments.keys() - by_key.keys())
        self._unkeyed = tuple(unkeyed)
        return self._update(changes, node_addresses)

    def update(self, changes: Mapping[Key, Objects], node_addresses: Iterable[str] = ()) -> Plan:
        """The table after the Services keyed in ``changes`` changed (to the
        objects given there); every other Service is as in the last plan,
        which ``plan`` must have made first."""
        if self._last is None:
            raise RuntimeError("Planner.update needs a previous plan; use Planner.plan")
        return self._update(changes, node_addresses)

    def _update(self, changes: Mapping[Key, Objects], node_addresses: Iterable[str]) -> Plan:
        notes = list(self._unkeyed)
        ips: set[str] = set()
        for a in node_addresses:
            try:
                ips.add(_ipv4(a, "node address"))
            except BadObject as e:
                notes.append(str(e))
        node_ips = tuple(sorted(ips, key=_ip_order))
        fresh: dict[Key, _Fragment] = {}
        gone: list[Key] = []
        for key, (objs, endpoint) in changes.items():
            frag = self._fragments.get(key)
            svcs = tuple(objs)
            if not svcs:
                if frag is not None:
                    gone.append(key)
            elif frag is None or not frag.made_from(svcs, endpoint):
                fresh[key] = _fragment(svcs, endpoint)
                self.planned += 1
        old = {k: self._fragments[k] for k in (*fresh, *gone) if k in self._fragments}
        try:
            plan, clashed = self._assemble(old, fresh, gone, node_ips, notes)
        except BaseException:
            self._forget()  # half updated: the next plan starts over
            raise
        previous, self._last = self._last, plan
        self.change = None
        # Without a clash each Service's part is in the table as planned; the
        # fixed chains differ only with or without node addresses.
        if (previous is not None and not (clashed or self._clashed)
                and bool(node_ips) == bool(self._node_ips)):
            self.change = Change(previous, tuple(old.values()), tuple(fresh.values()))
        self._clashed, self._node_ips = clashed, node_ips
        return plan

    def _assemble(self, old: dict[Key, _Fragment], fresh: dict[Key, _Fragment],
                  gone: list[Key], node_ips: tuple[str, ...],
                  notes: list[str]) -> tuple[Plan, bool]:
        """The new table and whether a port claim was refused: the changed
        Services taken out of the last one and put back as they are now, or,
        after or on a clash, all Services put in afresh in key order (the
        first port to claim a ClusterIP:port or a nodePort keeps it)."""
        contents = self._contents
        clean = not self._clashed
        if clean:
            for key, frag in old.items():
                contents.take(key, frag)
        for key in gone:
            del self._fragments[key]
        self._fragments.update(fresh)
        if clean:
            clean = all([contents.put(key, frag) for key, frag in fresh.items()])
        if not clean:
            self._contents = contents = _Contents()
            clean = all([contents.put(key, self._fragments[key])
                         for key in sorted(self._fragments)])
        return contents.plan(self.table, node_ips, notes), not clean


def _elem_order(item: tuple[tuple, str]) -> tuple:
    return tuple(_sort_value(v) for v in item[0])


def _sort_value(v: str | int) -> tuple[int, int | bytes | str]:
    if isinstance(v, int):
        return (0, v)
    try:
        return (1, socket.inet_pton(socket.AF_INET, v))
    except OSError:
        return (2, v)


# ---- stale conntrack ----------------------------------------------------------------

@dataclass(frozen=True)
class StaleFlow:
    """Conntrack entries to delete: those of ``protocol`` whose original
    destination is ``dst`` (a ClusterIP, or any address when None) on
    ``dport`` and, when ``endpoint`` is set, whose reply would come from that
    endpoint (ip, port). With ``unanswered``, only entries that never saw a
    reply: a connection the endpoint accepted is left to end on its own."""
    protocol: str
    dst: str | None
    dport: int
    endpoint: tuple[str, int] | None
    unanswered: bool = False


def stale_flows(old: Plan | None, new: Plan) -> list[StaleFlow]:
    """Conntrack entries made stale between two plans.

    UDP has no end of connection, so a flow would keep going to a removed
    endpoint, or keep a pre-endpoint entry, until it times out. TCP: a SYN
    to an endpoint that never answered (its node is gone) leaves an entry
    that lives for two minutes; a client that reuses its source port meanwhile
    (it cycles through the ephemeral range after many timeouts) would match
    that entry and be sent to the dead endpoint again, not through the table.
    Kubernetes' kube-proxy clears only UDP; the TCP case showed up in our
    node-loss chaos test as connects timing out after the endpoint was gone."""
    if old is None:
        return []
    return _stale_flows(old.routes, new.routes)


def stale_flows_of(change: Change) -> list[StaleFlow]:
    """``stale_flows`` from ``change.previous`` to the plan ``change`` led
    to, from the changed Services alone: without a clash no two ports share
    a route, so the others' routes are the same in both plans."""
    def routes(fragments: tuple[_Fragment, ...]) -> list[Route]:
        return [part.route for frag in fragments for part in frag.parts]

    return _stale_flows(routes(change.before), routes(change.after))


def _stale_flows(old: Iterable[Route], new: Iterable[Route]) -> list[StaleFlow]:
    before = {(r.protocol, r.cluster_ip, r.port, r.node_port): r.endpoints for r in old}
    after = {(r.protocol, r.cluster_ip, r.port, r.node_port): r.endpoints for r in new}
    flows: set[StaleFlow] = set()
    for key, eps in before.items():
        now = after.get(key, ())
        if eps is now or eps == now:
            continue
        proto, vip, port, node_port = key
        unanswered = proto == "TCP"  # an accepted TCP connection drains on its own
        for ep in set(eps).difference(now):
            if vip:
                flows.add(StaleFlow(proto, vip, port, ep, unanswered))
            if node_port:
                flows.add(StaleFlow(proto, None, node_port, ep, unanswered))
    for key, eps in after.items():
        # A UDP entry made while there were no endpoints (rejected) would keep
        # the packets from the new endpoints; a TCP client retries with a new SYN.
        if key[0] == "UDP" and eps and not before.get(key):
            _, vip, port, node_port = key
            if vip:
                flows.add(StaleFlow("UDP", vip, port, None))
            if node_port:
                flows.add(StaleFlow("UDP", None, node_port, None))
    return sorted(flows, key=lambda f: (f.protocol, f.dst or "", f.dport,
                                        f.endpoint or ("", 0)))
