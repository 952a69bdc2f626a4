"""Pure: the cluster's DNS names, as Kubernetes' DNS specification has them,
and the answer to one query (dnspython does the wire format).

- ``SVC.NS.svc.cluster.local``: A, the Service's ClusterIP; for a headless
  Service (``clusterIP: None``) the ready addresses of its Endpoints; an
  ExternalName Service is a CNAME.
- ``HOSTNAME.SVC.NS.svc.cluster.local``: A, for each ready address of a
  headless Service's Endpoints that carries a ``hostname`` (a pod whose
  ``hostname`` and ``subdomain`` are set, such as a StatefulSet's ``web-0``).
- ``_PORT._PROTO.SVC.NS.svc.cluster.local``: SRV, for each named port.
- ``kubernetes.default.svc.cluster.local``: the masters, unless a Service
  of that name exists.
- A name in the cluster domain that does not exist: NXDOMAIN; one that
  exists but has no record of the type asked (AAAA): an empty answer.
- Names outside the cluster domain: REFUSED at once (the cluster is sealed:
  there is nothing to forward to), so lookups fail fast rather than time out.

The resolver in the pod does the search path (``NS.svc.cluster.local
svc.cluster.local cluster.local``, ``ndots:5``), so ``web``, ``web.ns``
and ``web.ns.svc`` all end up as full names here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Obj = dict[str, Any]
DOMAIN = "cluster.local"
TTL = 5  # seconds: answers follow Endpoints changes quickly


@dataclass
class Zone:
    domain: str = DOMAIN
    a: dict[str, list[str]] = field(default_factory=dict)  # name (lower, with dot) -> IPs
    cname: dict[str, str] = field(default_factory=dict)
    srv: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # -> (port, target)

    def has(self, name: str) -> bool:
        return name in self.a or name in self.cname or name in self.srv


def _ready_addresses(endpoints: Obj | None) -> list[Obj]:
    return [addr for subset in (endpoints or {}).get("subsets") or []
            for addr in subset.get("addresses") or [] if addr.get("ip")]


def _ready_ips(endpoints: Obj | None) -> list[str]:
    return sorted({addr["ip"] for addr in _ready_addresses(endpoints)})


def build(services: list[Obj], endpoints: list[Obj], masters: list[str],
          domain: str = DOMAIN) -> Zone:
    zone = Zone(domain)
    eps = {(e["metadata"].get("namespace") or "default", e["metadata"]["name"]): e
           for e in endpoints}
    for svc in services:
        m, spec = svc["metadata"], svc.get("spec") or {}
        ns = m.get("namespace") or "default"
        fqdn = f"{m['name']}.{ns}.svc.{domain}.".lower()
        if spec.get("type") == "ExternalName" and spec.get("externalName"):
            zone.cname[fqdn] = str(spec["externalName"]).rstrip(".").lower() + "."
            continue
        ip = spec.get("clusterIP")
        if ip == "None":
            ep = eps.get((ns, m["name"]))
            zone.a[fqdn] = _ready_ips(ep)
            for addr in _ready_addresses(ep):
                if addr.get("hostname"):
                    ips = zone.a.setdefault(f"{addr['hostname']}.{fqdn}".lower(), [])
                    if addr["ip"] not in ips:
                        ips.append(addr["ip"])
        elif ip:
            zone.a[fqdn] = [ip]
        else:
            continue
        for port in spec.get("ports") or []:
            if port.get("name") and port.get("port"):
                proto = str(port.get("protocol") or "TCP").lower()
                zone.srv.setdefault(f"_{port['name']}._{proto}.{fqdn}".lower(), []).append(
                    (int(port["port"]), fqdn))
    master_name = f"kubernetes.default.svc.{domain}."
    if master_name not in zone.a and masters:
        zone.a[master_name] = sorted(set(masters))
    return zone


def _in_domain(name: str, domain: str) -> bool:
    return name == f"{domain}." or name.endswith(f".{domain}.")


def answer(zone: Zone, query: dns.message.Message) -> dns.message.Message:
    reply = dns.message.make_response(query)
    reply.flags |= dns.flags.AA
    reply.flags &= ~dns.flags.RA
    if len(query.question) != 1:
        reply.set_rcode(dns.rcode.FORMERR)
        return reply
    q = query.question[0]
    name = q.name.to_text().lower()
    if q.rdclass != dns.rdataclass.IN or not _in_domain(name, zone.domain):
        reply.set_rcode(dns.rcode.REFUSED)
        return reply
    if not zone.has(name):
        reply.set_rcode(dns.rcode.NXDOMAIN)
        return reply
    if name in zone.cname:
        reply.answer.append(dns.rrset.from_text(q.name, TTL, "IN", "CNAME", zone.cname[name]))
        return reply
    if q.rdtype in (dns.rdatatype.A, dns.rdatatype.ANY) and zone.a.get(name):
        reply.answer.append(dns.rrset.from_text_list(q.name, TTL, "IN", "A", zone.a[name]))
    if q.rdtype in (dns.rdatatype.SRV, dns.rdatatype.ANY) and zone.srv.get(name):
        reply.answer.append(dns.rrset.from_text_list(
            q.name, TTL, "IN", "SRV", [f"0 100 {port} {target}" for port, target in
                                        zone.srv[name]]))
    return reply  # NOERROR: an empty answer for a type the name has no record of


def resolv_conf(namespace: str, nameserver: str, domain: str = DOMAIN) -> tuple[
        list[str], list[str], list[str]]:
    """(nameservers, search, options) for a ClusterFirst pod, as kubelet writes them."""
    return ([nameserver], [f"{namespace}.svc.{domain}", f"svc.{domain}", domain], ["ndots:5"])

