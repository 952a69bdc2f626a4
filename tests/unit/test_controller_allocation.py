"""ClusterIPs, NodePorts and pod CIDRs: unique, even when allocations race."""

from __future__ import annotations

import ipaddress
import threading

from master.controllers.allocator import Allocator, ip_candidates, owner_of
from master.controllers.base import Context
from master.controllers.nodeipam import NodeIpamController
from master.controllers.serviceip import ServiceIpController
from master.controllers.testing import make_context, node


def service(name, type_="ClusterIP", cluster_ip="", ports=None):
    spec = {"type": type_, "selector": {"app": name},
            "ports": ports or [{"name": "http", "port": 80, "targetPort": 8080,
                                "protocol": "TCP"}]}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def settle(ctx, *controllers):
    for _ in range(10):
        ctx.informers.relist()
        if not sum(c.drain() for c in controllers):
            return


def svc(ctx, name):
    return ctx.objects.get("Service", "default", name)


def test_cluster_ip_comes_from_the_service_cidr_skipping_network_and_dot_one():
    ctx, _ = make_context(service_cidr="10.96.0.0/16")
    c = ServiceIpController(ctx)
    ctx.objects.create(service("a"))
    settle(ctx, c)
    s = svc(ctx, "a")
    assert s["spec"]["clusterIP"] == "10.96.0.2"
    assert s["spec"]["clusterIPs"] == ["10.96.0.2"]
    gen, size = ip_candidates("10.96.0.0/30", reserved=1)
    assert list(gen()) == ["10.96.0.2"] and size == 1  # no .0, .1 or .3 (broadcast)


def test_user_chosen_ip_is_honoured_when_free_and_refused_when_taken():
    ctx, _ = make_context()
    c = ServiceIpController(ctx)
    ctx.objects.create(service("a", cluster_ip="10.96.5.5"))
    settle(ctx, c)
    ctx.objects.create(service("b", cluster_ip="10.96.5.5"))
    ctx.objects.create(service("c"))
    settle(ctx, c)
    assert c.ips.claims()["10.96.5.5"]["owner"]["name"] == "a"
    assert svc(ctx, "c")["spec"]["clusterIP"] not in ("10.96.5.5", "")
    warnings = [e for e in ctx.objects.list("Event", "default")[0]
                if e["reason"] == "ClusterIPAlreadyAllocated"]
    assert warnings and warnings[0]["involvedObject"]["name"] == "b"


def test_headless_service_gets_no_ip():
    ctx, _ = make_context()
    c = ServiceIpController(ctx)
    ctx.objects.create(service("h", cluster_ip="None"))
    settle(ctx, c)
    assert svc(ctx, "h")["spec"]["clusterIP"] == "None"
    assert c.ips.claims() == {}


def test_node_ports_are_allocated_per_port_and_released_on_delete():
    ctx, _ = make_context(node_port_range=(30000, 30010))
    c = ServiceIpController(ctx)
    ports = [{"name": "a", "port": 80, "protocol": "TCP"},
             {"name": "b", "port": 81, "protocol": "TCP", "nodePort": 30000},
             {"name": "c", "port": 82, "protocol": "TCP"}]
    ctx.objects.create(service("np", type_="NodePort", ports=ports))
    settle(ctx, c)
    got = [p["nodePort"] for p in svc(ctx, "np")["spec"]["ports"]]
    assert got[1] == 30000 and len(set(got)) == 3
    assert all(30000 <= p <= 30010 for p in got)
    ctx.objects.delete("Service", "default", "np")
    settle(ctx, c)
    assert c.ports.claims() == {} and c.ips.claims() == {}


def test_concurrent_allocations_never_hand_out_the_same_ip():
    """Many threads, each with its own allocator (as two leaders or workers
    would have), race over a small range through one store."""
    ctx, _ = make_context()
    store = ctx.objects.store
    gen, size = ip_candidates("10.96.0.0/27")  # 29 usable addresses
    results: dict[str, str | None] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker(i):
        alloc = Allocator(store, "serviceips", gen, size)
        barrier.wait()
        for j in range(5):
            uid = f"svc-{i}-{j}"
            ip = alloc.allocate({"uid": uid, "name": uid})
            with lock:
                results[uid] = ip
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    ips = [ip for ip in results.values() if ip is not None]
    assert len(ips) == size == 29  # the range filled exactly, 11 refused
    assert len(set(ips)) == len(ips)
    assert all(ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/27") for ip in ips)


def test_concurrent_service_creates_through_two_controllers_get_distinct_ips_and_ports():
    ctx, _ = make_context(node_port_range=(30000, 30100))
    other = Context(ctx.objects, ctx.config)  # a second leader's view of the same store
    c1, c2 = ServiceIpController(ctx), ServiceIpController(other)
    for i in range(20):
        ctx.objects.create(service(f"s{i}", type_="NodePort"))
    ctx.informers.relist()
    other.informers.relist()
    ts = [threading.Thread(target=c.drain) for c in (c1, c2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(30)
    settle(ctx, c1)
    items = ctx.objects.list("Service", "default")[0]
    ips = [s["spec"]["clusterIP"] for s in items]
    ports = [s["spec"]["ports"][0]["nodePort"] for s in items]
    assert len(set(ips)) == 20 and "" not in ips
    assert len(set(ports)) == 20
    claims = c1.ips.claims()
    for s in items:
        assert claims[s["spec"]["clusterIP"]]["owner"]["uid"] == s["metadata"]["uid"]


def test_each_node_gets_a_unique_pod_cidr_released_when_it_goes():
    ctx, _ = make_context(cluster_cidr="10.244.0.0/22", node_cidr_mask=24)
    c = NodeIpamController(ctx)
    for n in ("a", "b", "c"):
        ctx.objects.create(node(n))
    settle(ctx, c)
    cidrs = {n: ctx.objects.get("Node", None, n)["spec"]["podCIDR"] for n in "abc"}
    assert sorted(cidrs.values()) == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert ctx.objects.get("Node", None, "a")["spec"]["podCIDRs"] == [cidrs["a"]]
    ctx.objects.delete("Node", None, "b")
    settle(ctx, c)
    ctx.objects.create(node("d"))
    ctx.objects.create(node("e"))
    settle(ctx, c)
    d, e = (ctx.objects.get("Node", None, n)["spec"]["podCIDR"] for n in "de")
    assert {d, e} == {cidrs["b"], "10.244.3.0/24"}  # b's range was reused
    ctx.objects.create(node("f"))
    settle(ctx, c)
    assert not ctx.objects.get("Node", None, "f")["spec"].get("podCIDR")  # range full
    assert any(ev["reason"] == "CIDRNotAvailable" for ev in ctx.objects.list("Event", "default")[0])


def test_a_node_synced_again_from_a_stale_cache_keeps_its_claim():
    # The leader's informer can lag its own write: a second sync of a node that
    # still shows no pod CIDR finds the CIDR it holds and in use. Releasing it then
    # (as a lost race) handed the same range to the next node: two nodes with one
    # pod CIDR, whose pods' replies were routed to the other node (two CI runs).
    ctx, _ = make_context(cluster_cidr="10.244.0.0/22", node_cidr_mask=24)
    c = NodeIpamController(ctx)
    ctx.objects.create(node("a"))
    ctx.informers.relist()
    c.drain()
    a = ctx.objects.get("Node", None, "a")["spec"]["podCIDR"]
    assert not ctx.informers["Node"].get("a")["spec"].get("podCIDR")  # not seen yet
    c.enqueue(node("a"))  # a later event of the node: synced again from that copy
    c.drain()
    assert ctx.objects.get("Node", None, "a")["spec"]["podCIDR"] == a
    uid = ctx.objects.get("Node", None, "a")["metadata"]["uid"]
    assert c.cidrs.held_by(uid, fresh=True) == [a]  # still claimed: no one else gets it
    ctx.objects.create(node("b"))
    ctx.informers["Node"].relist()
    c.drain()
    assert ctx.objects.get("Node", None, "b")["spec"]["podCIDR"] != a


def test_owner_record_names_the_object():
    assert owner_of({"kind": "Service", "metadata": {"name": "a", "namespace": "x", "uid": "u"}}) \
        == {"kind": "Service", "name": "a", "namespace": "x", "uid": "u"}


def test_node_ports_are_released_when_the_service_stops_being_a_node_port():
    ctx, clock = make_context()
    c = ServiceIpController(ctx)
    ctx.objects.create(service("np", type_="NodePort"))
    settle(ctx, c)
    assert len(c.ports.claims()) == 1
    ctx.objects.guaranteed_update("Service", "default", "np",
                                  lambda o: {**o, "spec": {**o["spec"], "type": "ClusterIP"}})
    clock.advance(30)
    settle(ctx, c)
    assert c.ports.claims() == {}
    assert len(c.ips.claims()) == 1  # the ClusterIP stays


def test_repair_frees_only_old_claims_of_owners_that_are_gone():
    ctx, clock = make_context()
    gen, size = ip_candidates("10.96.0.0/28")
    alloc = Allocator(ctx.objects.store, "serviceips", gen, size, clock=clock)
    live = alloc.allocate({"uid": "live"})
    old = alloc.allocate({"uid": "gone-old"})
    clock.advance(100)
    fresh = alloc.allocate({"uid": "gone-fresh"})
    alloc.release_orphans({"live"}, older_than=60)
    assert set(alloc.claims()) == {live, fresh} and old not in alloc.claims()
    alloc.release_all("gone-fresh")
    assert set(alloc.claims()) == {live}
