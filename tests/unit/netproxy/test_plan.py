"""The rule plan from given Services and Endpoints (pure; no root)."""

from __future__ import annotations

from netproxy.plan import (
    MASQ_MARK,
    NO_ENDPOINT_NODEPORTS,
    NO_ENDPOINT_SERVICES,
    NODE_IPS,
    REJECT_CHAIN,
    SERVICE_IPS,
    SERVICE_NODEPORTS,
    Dnat,
    Goto,
    MatchProto,
    MatchSaddr,
    NumgenIs,
    SetMark,
    StaleFlow,
    build_plan,
    pick_one,
    stale_flows,
)
from netproxy.render import render


def svc(name, ip="10.96.0.10", ports=None, type_="ClusterIP", ns="default"):
    ports = ports if ports is not None else [{"name": "http", "port": 80, "targetPort": 8080}]
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"type": type_, "clusterIP": ip, "ports": ports}}


def eps(name, ready, not_ready=(), ports=None, ns="default"):
    ports = ports if ports is not None else [{"name": "http", "port": 8080, "protocol": "TCP"}]
    return {"metadata": {"name": name, "namespace": ns}, "subsets": [{
        "addresses": [{"ip": i} for i in ready],
        "notReadyAddresses": [{"ip": i} for i in not_ready], "ports": ports}]}


def test_cluster_ip_maps_to_service_chain_that_picks_a_random_ready_endpoint():
    plan = build_plan([svc("web")], [eps("web", ["10.244.0.3", "10.244.0.2", "10.244.0.4"],
                                         ["10.244.0.9"])])
    chain = "svc-default/web/tcp/http"
    assert plan.map(SERVICE_IPS).elements == ((("10.96.0.10", "tcp", 80), chain),)
    # endpoints sorted by address; each taken with probability 1/3 overall
    ep = "ep-default/web/tcp/http/10.244.0.{}:8080"
    assert plan.chain(chain).rules == (
        (NumgenIs(3, 0), Goto(ep.format(2))),
        (NumgenIs(2, 0), Goto(ep.format(3))),
        (Goto(ep.format(4)),),
    )
    assert "10.244.0.9" not in render(plan)  # not ready: nowhere


def test_pick_one_is_uniform():
    from fractions import Fraction

    for n in range(1, 6):
        rules = pick_one([f"t{i}" for i in range(n)])
        left, share = Fraction(1), {}
        for rule in rules:
            p = Fraction(1, rule[0].modulus) if isinstance(rule[0], NumgenIs) else Fraction(1)
            share[rule[-1].chain] = left * p
            left -= left * p
        assert set(share.values()) == {Fraction(1, n)} and left == 0


def test_endpoint_chain_marks_hairpin_then_dnats_to_target_port():
    plan = build_plan([svc("web")], [eps("web", ["10.244.0.2"])])
    assert plan.chain("ep-default/web/tcp/http/10.244.0.2:8080").rules == (
        (MatchSaddr("10.244.0.2"), SetMark(MASQ_MARK)),
        (MatchProto("tcp"), Dnat("10.244.0.2", 8080)),
    )
    # a single endpoint needs no random choice
    assert plan.chain("svc-default/web/tcp/http").rules == (
        (Goto("ep-default/web/tcp/http/10.244.0.2:8080"),),)


def test_service_without_ready_endpoints_is_rejected_not_translated():
    plan = build_plan([svc("web", type_="NodePort", ports=[
        {"name": "http", "port": 80, "nodePort": 30080}])],
        [eps("web", [], ["10.244.0.2"])], ["10.0.0.5"])
    assert plan.map(SERVICE_IPS).elements == ()
    assert plan.map(NO_ENDPOINT_SERVICES).elements == (
        (("10.96.0.10", "tcp", 80), REJECT_CHAIN),)
    assert plan.map(NO_ENDPOINT_NODEPORTS).elements == ((("tcp", 30080), REJECT_CHAIN),)
    reject = render(plan).split("chain reject {")[1]
    assert "reject with tcp reset" in reject


def test_missing_endpoints_object_counts_as_no_endpoints():
    plan = build_plan([svc("web")], [])
    assert plan.map(NO_ENDPOINT_SERVICES).elements == (((("10.96.0.10", "tcp", 80)), "reject"),)


def test_node_port_goes_through_masquerading_external_chain():
    plan = build_plan([svc("web", type_="NodePort", ports=[
        {"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080}])],
        [eps("web", ["10.244.0.2"])], ["10.0.0.5", "10.0.0.4"])
    ext = "ext-default/web/tcp/http"
    assert plan.map(SERVICE_NODEPORTS).elements == ((("tcp", 30080), ext),)
    assert plan.chain(ext).rules == ((SetMark(MASQ_MARK),), (Goto("svc-default/web/tcp/http"),))
    assert next(s for s in plan.sets if s.name == NODE_IPS).elements == ("10.0.0.4", "10.0.0.5")


def test_node_port_ignored_on_a_cluster_ip_service():
    plan = build_plan([svc("web", ports=[{"name": "http", "port": 80, "nodePort": 30080}])],
                      [eps("web", ["10.244.0.2"], ports=[{"name": "http", "port": 80}])],
                      ["10.0.0.5"])
    assert plan.map(SERVICE_NODEPORTS).elements == ()


def test_udp_and_tcp_ports_matched_by_name_and_protocol():
    s = svc("dns", ports=[{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353},
                          {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 5353}])
    e = eps("dns", ["10.244.0.7"], ports=[{"name": "dns", "port": 5353, "protocol": "UDP"},
                                          {"name": "dns-tcp", "port": 5354, "protocol": "TCP"}])
    plan = build_plan([s], [e])
    assert dict(plan.map(SERVICE_IPS).elements) == {
        ("10.96.0.10", "tcp", 53): "svc-default/dns/tcp/dns-tcp",
        ("10.96.0.10", "udp", 53): "svc-default/dns/udp/dns",
    }
    assert plan.chain("ep-default/dns/udp/dns/10.244.0.7:5353").rules[1] == (
        MatchProto("udp"), Dnat("10.244.0.7", 5353))
    assert plan.chain("ep-default/dns/tcp/dns-tcp/10.244.0.7:5354").rules[1][1] == Dnat(
        "10.244.0.7", 5354)


def test_unnamed_single_port_matches_endpoints_port():
    plan = build_plan([svc("web", ports=[{"port": 80, "targetPort": 8080}])],
                      [eps("web", ["10.244.0.2"], ports=[{"port": 8080}])])
    assert dict(plan.map(SERVICE_IPS).elements) == {
        ("10.96.0.10", "tcp", 80): "svc-default/web/tcp/80"}


def test_headless_and_external_name_services_are_not_proxied():
    plan = build_plan([svc("headless", ip="None"), svc("ext", type_="ExternalName"),
                       svc("pending", ip="")], [eps("headless", ["10.244.0.2"])])
    assert plan.map(SERVICE_IPS).elements == ()
    assert plan.map(NO_ENDPOINT_SERVICES).elements == ()
    assert plan.notes == ()


def test_bad_input_is_skipped_with_a_note_naming_the_field():
    plan = build_plan([svc("bad-ip", ip="10.96.0.300"),
                       svc("sctp", ip="10.96.0.21", ports=[{"name": "s", "port": 80,
                                                              "protocol": "SCTP"},
                                                             {"name": "http", "port": 81}]),
                       svc("bad-port", ports=[{"port": 70000}, "junk"]),
                       {"spec": {}},
                       {"metadata": {"name": "weird"}, "spec": "not an object"},
                       svc("good", ip="10.96.0.20")],
                      [eps("good", ["10.244.0.2"]), {"metadata": "junk"},
                       {"metadata": {"name": "sctp"}, "subsets": "junk"}])
    notes = "\n".join(plan.notes)
    assert "default/bad-ip: spec.clusterIP" in notes
    assert "sctp: spec.ports[0].protocol" in notes and "SCTP" in notes
    assert "spec.ports[0].port: 70000" in notes
    assert "spec.ports[1]: not an object" in notes
    assert "metadata.name is missing" in notes
    assert "service default/weird: malformed" in notes
    assert "endpoints default/sctp: malformed" in notes
    # the rest is proxied: the good service, and the TCP port of the SCTP one
    assert dict(plan.map(SERVICE_IPS).elements) == {
        ("10.96.0.20", "tcp", 80): "svc-default/good/tcp/http"}
    assert dict(plan.map(NO_ENDPOINT_SERVICES).elements) == {
        ("10.96.0.21", "tcp", 81): "reject"}


def test_duplicate_cluster_ip_port_keeps_the_first_and_notes_the_second():
    plan = build_plan([svc("a", ns="x"), svc("b", ns="x")],
                      [eps("a", ["10.244.0.2"], ns="x"), eps("b", ["10.244.0.3"], ns="x")])
    assert dict(plan.map(SERVICE_IPS).elements) == {
        ("10.96.0.10", "tcp", 80): "svc-x/a/tcp/http"}
    assert any("x/b" in n and "already used" in n for n in plan.notes)


def test_same_input_in_any_order_gives_an_equal_plan():
    services = [svc(f"s{i}", ip=f"10.96.1.{i}") for i in range(20)]
    endpoints = [eps(f"s{i}", [f"10.244.0.{j}" for j in range(i % 4)]) for i in range(20)]
    a = build_plan(services, endpoints, ["10.0.0.1"])
    b = build_plan(list(reversed(services)), list(reversed(endpoints)), ["10.0.0.1"])
    assert a == b
    assert a != build_plan(services, endpoints[:-1], ["10.0.0.1"])  # s19 loses its 3


def test_fixed_chains_hook_nat_and_filter_on_prerouting_and_output():
    plan = build_plan([], [], ["10.0.0.1"])
    hooks = {(c.hook.hook, c.hook.type) for c in plan.chains if c.hook}
    assert hooks == {("prerouting", "nat"), ("output", "nat"), ("postrouting", "nat"),
                     ("prerouting", "filter"), ("output", "filter")}
    filt = next(c for c in plan.chains if c.hook and c.hook.type == "filter")
    nat = next(c for c in plan.chains if c.hook and c.hook.hook == "prerouting"
               and c.hook.type == "nat")
    assert filt.hook.priority < nat.hook.priority  # reject before DNAT


def test_long_names_are_shortened_but_stay_unique():
    long = "n" * 63
    plan = build_plan([svc(long, ns="m" * 63, ports=[{"name": "p" * 15, "port": 80}]),
                       svc(long, ns="m" * 63, ip="10.96.0.11",
                           ports=[{"name": "q" * 15, "port": 80}])],
                      [eps(long, ["10.244.0.2"], ns="m" * 63,
                           ports=[{"name": "p" * 15, "port": 80}, {"name": "q" * 15, "port": 80}])])
    names = [c.name for c in plan.chains]
    assert len(names) == len(set(names))
    assert all(len(n) <= 240 for n in names)


def test_stale_udp_flows_for_removed_endpoints_and_new_first_endpoint():
    def udp(ready, node_port=None):
        t = "NodePort" if node_port else "ClusterIP"
        port = {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}
        if node_port:
            port["nodePort"] = node_port
        return build_plan([svc("dns", ports=[port], type_=t)],
                          [eps("dns", ready, ports=[{"name": "dns", "port": 5353,
                                                     "protocol": "UDP"}])], ["10.0.0.1"])

    assert stale_flows(None, udp(["10.244.0.2"])) == []
    assert stale_flows(udp(["10.244.0.2", "10.244.0.3"]), udp(["10.244.0.3"])) == [
        StaleFlow("UDP", "10.96.0.10", 53, ("10.244.0.2", 5353))]
    assert stale_flows(udp([], 30053), udp(["10.244.0.3"], 30053)) == [
        StaleFlow("UDP", None, 30053, None), StaleFlow("UDP", "10.96.0.10", 53, None)]
    assert stale_flows(udp(["10.244.0.3"]), udp(["10.244.0.3"])) == []


def test_removed_tcp_endpoint_clears_only_its_unanswered_entries():
    def web(ready, node_port=None):
        port = {"name": "http", "port": 80, "targetPort": 8080}
        if node_port:
            port["nodePort"] = node_port
        return build_plan([svc("web", ports=[port], type_="NodePort" if node_port else "ClusterIP")],
                          [eps("web", ready)], ["10.0.0.1"])

    gone = stale_flows(web(["10.244.0.2", "10.244.0.3"], 30080), web(["10.244.0.3"], 30080))
    assert gone == [StaleFlow("TCP", None, 30080, ("10.244.0.2", 8080), unanswered=True),
                    StaleFlow("TCP", "10.96.0.10", 80, ("10.244.0.2", 8080), unanswered=True)]
    # a new endpoint, first or not, leaves TCP entries alone: nothing was rejected into one
    assert stale_flows(web([]), web(["10.244.0.2"])) == []
    assert stale_flows(web(["10.244.0.2"]), web(["10.244.0.2", "10.244.0.3"])) == []
    # a Service deleted outright: its endpoints are gone too
    assert stale_flows(web(["10.244.0.2"]), build_plan([], [], ["10.0.0.1"])) == [
        StaleFlow("TCP", "10.96.0.10", 80, ("10.244.0.2", 8080), unanswered=True)]


def test_a_thousand_services_share_one_map():
    # how fast this is, is netproxy_bench's business, not a unit test's
    n = 1000
    services = [svc(f"s{i}", ip=f"10.96.{i // 250}.{i % 250 + 1}") for i in range(n)]
    endpoints = [eps(f"s{i}", [f"10.244.{i // 250}.{i % 250 + 1}", "10.244.9.9"])
                 for i in range(n)]
    plan = build_plan(services, endpoints)
    assert len(plan.map(SERVICE_IPS).elements) == n
