"""Cluster DNS: the zone's answers, the UDP server on loopback, and the
resolv.conf a pod gets by dnsPolicy."""

from __future__ import annotations

import threading

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from node import podspec
from node.dnsserver import DnsServer, reply_bytes
from node.dnszone import answer, build


def svc(name, ip, ns="default", ports=None, **spec):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports or [], **spec}}


SERVICES = [
    svc("web", "10.96.0.20", ports=[{"name": "http", "port": 80, "protocol": "TCP"}]),
    svc("db", "None", ns="team"),
    svc("ext", None, type="ExternalName", externalName="db.example.org"),
]
ENDPOINTS = [{"metadata": {"name": "db", "namespace": "team"}, "subsets": [
    {"addresses": [{"ip": "10.244.1.7"}, {"ip": "10.244.2.9"}],
     "notReadyAddresses": [{"ip": "10.244.1.8"}]}]}]
ZONE = build(SERVICES, ENDPOINTS, ["10.250.0.1", "10.250.0.2"])


def ask(name, rdtype="A"):
    return answer(ZONE, dns.message.make_query(name, rdtype))


def ips(reply):
    return sorted(r.address for rrset in reply.answer for r in rrset)


def test_service_names_and_headless_and_srv():
    assert ips(ask("web.default.svc.cluster.local")) == ["10.96.0.20"]
    assert ips(ask("WEB.Default.svc.cluster.local.")) == ["10.96.0.20"]  # any case
    assert ips(ask("db.team.svc.cluster.local")) == ["10.244.1.7", "10.244.2.9"]  # ready only
    srv = ask("_http._tcp.web.default.svc.cluster.local", "SRV")
    [rec] = [r for rrset in srv.answer for r in rrset]
    assert (rec.port, rec.target.to_text()) == (80, "web.default.svc.cluster.local.")
    cname = ask("ext.default.svc.cluster.local")
    assert cname.answer[0].rdtype == dns.rdatatype.CNAME
    assert ips(ask("kubernetes.default.svc.cluster.local")) == ["10.250.0.1", "10.250.0.2"]


def test_missing_names_types_and_outside_names():
    assert ask("nope.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    aaaa = ask("web.default.svc.cluster.local", "AAAA")
    assert aaaa.rcode() == dns.rcode.NOERROR and not aaaa.answer  # exists, no AAAA
    assert ask("example.com").rcode() == dns.rcode.REFUSED  # sealed: fail fast
    # what the search path tries first for "example.com" with ndots:5
    assert ask("example.com.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN


def test_garbage_is_ignored():
    assert reply_bytes(ZONE, b"\x00\x01garbage") is None


def test_udp_server_answers_and_follows_the_zone():
    zones = [ZONE]
    server = DnsServer(lambda: zones[0], "127.0.0.1", 0)
    stop = threading.Event()
    t = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    t.start()
    try:
        host, port = server.address
        q = dns.message.make_query("web.default.svc.cluster.local", "A")
        assert ips(dns.query.udp(q, host, port=port, timeout=2)) == ["10.96.0.20"]
        zones[0] = build([svc("web", "10.96.0.99")], [], [])
        assert ips(dns.query.udp(q, host, port=port, timeout=2)) == ["10.96.0.99"]
    finally:
        stop.set()
        t.join(2)
    assert server.sock.fileno() == -1  # closed


def pod(**spec):
    return {"metadata": {"name": "p", "namespace": "team", "uid": "u"},
            "spec": {"containers": [{"name": "a", "image": "i"}], **spec}}


def test_resolv_conf_by_dns_policy():
    infra = podspec.infra_spec(pod(), "n1", 0, "net", "pause", dns_server="10.244.1.1")
    assert infra.dns == ["10.244.1.1"]
    assert infra.dns_search == ["team.svc.cluster.local", "svc.cluster.local", "cluster.local"]
    assert infra.dns_options == ["ndots:5"]
    assert podspec.pod_dns(pod(dnsPolicy="Default"), "10.244.1.1") == ([], [], [])
    assert podspec.pod_dns(pod(hostNetwork=True), "10.244.1.1") == ([], [], [])
    assert podspec.pod_dns(pod(), None) == ([], [], [])  # the node serves no DNS
    custom = pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"], "searches": ["x"],
                                              "options": [{"name": "ndots", "value": "2"}]})
    assert podspec.pod_dns(custom, "10.244.1.1") == (["1.1.1.1"], ["x"], ["ndots:2"])
    merged = podspec.pod_dns(pod(dnsConfig={"options": [{"name": "ndots", "value": "1"},
                                                        {"name": "edns0"}]}), "10.244.1.1")
    assert merged[2] == ["ndots:1", "edns0"]



def test_headless_service_names_each_ready_pod_by_its_hostname():
    eps = [{"metadata": {"name": "nginx", "namespace": "default"}, "subsets": [
        {"addresses": [{"ip": "10.244.1.5", "hostname": "web-0"},
                       {"ip": "10.244.2.6", "hostname": "web-1"},
                       {"ip": "10.244.2.7"}],
         "notReadyAddresses": [{"ip": "10.244.1.8", "hostname": "web-2"}]}]}]
    zone = build([svc("nginx", "None")], eps, [])

    def ask_zone(name):
        return answer(zone, dns.message.make_query(name, "A"))
    assert ips(ask_zone("web-0.nginx.default.svc.cluster.local")) == ["10.244.1.5"]
    assert ips(ask_zone("WEB-1.nginx.default.svc.cluster.local.")) == ["10.244.2.6"]
    assert ips(ask_zone("nginx.default.svc.cluster.local")) == \
        ["10.244.1.5", "10.244.2.6", "10.244.2.7"]
    # not ready: no name yet, as Kubernetes' DNS serves ready endpoints only
    assert ask_zone("web-2.nginx.default.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    # a Service with a ClusterIP names no pods
    zone = build([svc("nginx", "10.96.0.9")], eps, [])
    assert answer(zone, dns.message.make_query("web-0.nginx.default.svc.cluster.local", "A")
                  ).rcode() == dns.rcode.NXDOMAIN
