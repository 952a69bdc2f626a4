"""Endpoints: ready / not-ready / terminating pods and port resolution."""

from __future__ import annotations

from master.controllers.endpoints import EndpointsController, desired_subsets
from master.controllers.testing import make_context, pod

SVC = {"apiVersion": "v1", "kind": "Service",
       "metadata": {"name": "web", "namespace": "default", "labels": {"tier": "front"}},
       "spec": {"selector": {"app": "web"}, "clusterIP": "10.96.0.10",
                "ports": [{"name": "http", "port": 80, "targetPort": "web", "protocol": "TCP"},
                          {"name": "metrics", "port": 9000, "targetPort": 9100,
                           "protocol": "TCP"}]}}


def web_pod(name, ip, ready=True, port=8080, **kw):
    p = pod(name, labels={"app": "web"}, node_name="n1", phase="Running", ready=ready, ip=ip,
            **kw)
    p["spec"]["containers"][0]["ports"] = [{"name": "web", "containerPort": port,
                                            "protocol": "TCP"}]
    return p


def setup(*objs):
    ctx, _ = make_context()
    for o in objs:
        ctx.objects.create(o)
    c = EndpointsController(ctx)
    settle(ctx, c)
    return ctx, c


def settle(ctx, c):
    for _ in range(10):
        ctx.informers.relist()
        if not c.drain():
            return


def endpoints(ctx):
    return ctx.objects.get("Endpoints", "default", "web")


def test_ready_and_not_ready_pods_are_listed_apart_with_resolved_ports():
    ctx, _ = setup(SVC, web_pod("a", "10.244.1.2"), web_pod("b", "10.244.1.3", ready=False),
                   pod("other", labels={"app": "db"}, ip="10.244.1.9", ready=True))
    ep = endpoints(ctx)
    assert ep["metadata"]["labels"] == {"tier": "front"}
    [subset] = ep["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.2"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.3"]
    addr = subset["addresses"][0]
    assert addr["nodeName"] == "n1"
    assert addr["targetRef"]["kind"] == "Pod" and addr["targetRef"]["name"] == "a"
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"},
                               {"name": "metrics", "port": 9100, "protocol": "TCP"}]


def test_pods_resolving_a_named_port_differently_land_in_separate_subsets():
    subsets = desired_subsets(SVC, [web_pod("a", "10.0.0.1", port=8080),
                                    web_pod("b", "10.0.0.2", port=8081)])
    assert len(subsets) == 2
    assert {s["ports"][0]["port"] for s in subsets} == {8080, 8081}


def test_terminating_pod_leaves_the_addresses_at_once():
    ctx, c = setup(SVC, web_pod("a", "10.244.1.2"), web_pod("b", "10.244.1.3"))
    assert len(endpoints(ctx)["subsets"][0]["addresses"]) == 2
    ctx.objects.guaranteed_update("Pod", "default", "a", lambda o: {
        **o, "metadata": {**o["metadata"], "deletionTimestamp": "2030-01-01T00:00:00Z",
                          "deletionGracePeriodSeconds": 30}})
    settle(ctx, c)
    [subset] = endpoints(ctx)["subsets"]
    assert [a["targetRef"]["name"] for a in subset["addresses"]] == ["b"]
    assert "notReadyAddresses" not in subset


def test_pod_becoming_ready_moves_to_addresses_and_pods_without_ip_are_skipped():
    ctx, c = setup(SVC, web_pod("a", "10.244.1.2", ready=False), web_pod("noip", None))
    assert "addresses" not in endpoints(ctx)["subsets"][0]
    ctx.objects.guaranteed_update("Pod", "default", "a", lambda o: {
        **o, "status": {**o["status"], "conditions": [{"type": "Ready", "status": "True"}]}})
    settle(ctx, c)
    [subset] = endpoints(ctx)["subsets"]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.2"]


def test_endpoints_are_deleted_with_their_service_and_selectorless_ones_left_alone():
    manual = {"apiVersion": "v1", "kind": "Service",
              "metadata": {"name": "ext", "namespace": "default"},
              "spec": {"ports": [{"port": 80}]}}
    hand = {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "ext", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80}]}]}
    ctx, c = setup(SVC, manual, hand, web_pod("a", "10.244.1.2"))
    assert ctx.objects.get("Endpoints", "default", "ext")["subsets"] == hand["subsets"]
    ctx.objects.delete("Service", "default", "web")
    settle(ctx, c)
    names = {e["metadata"]["name"] for e in ctx.objects.list("Endpoints", "default")[0]}
    assert names == {"ext"}


def test_pods_on_an_unreachable_node_are_not_ready_until_it_returns():
    from master.controllers.nodelifecycle import UNREACHABLE
    from master.controllers.testing import node
    ctx, c = setup(SVC, node("n1"), web_pod("a", "10.244.1.2"))
    assert [a["ip"] for a in endpoints(ctx)["subsets"][0]["addresses"]] == ["10.244.1.2"]
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    ctx.objects.guaranteed_update("Node", None, "n1",
                                  lambda o: {**o, "spec": {**o["spec"], "taints": [taint]}})
    settle(ctx, c)
    [subset] = endpoints(ctx)["subsets"]
    assert "addresses" not in subset and subset["notReadyAddresses"][0]["ip"] == "10.244.1.2"
    ctx.objects.guaranteed_update("Node", None, "n1",
                                  lambda o: {**o, "spec": {**o["spec"], "taints": []}})
    settle(ctx, c)
    assert [a["ip"] for a in endpoints(ctx)["subsets"][0]["addresses"]] == ["10.244.1.2"]


def test_pods_whose_subdomain_is_the_service_carry_their_hostname():
    named = web_pod("web-0", "10.0.0.1")
    named["spec"].update(hostname="web-0", subdomain="web")
    elsewhere = web_pod("web-1", "10.0.0.2")
    elsewhere["spec"].update(hostname="web-1", subdomain="other")
    plain = web_pod("web-2", "10.0.0.3")
    [subset] = desired_subsets(SVC, [named, elsewhere, plain])
    assert [(a["ip"], a.get("hostname")) for a in subset["addresses"]] == \
        [("10.0.0.1", "web-0"), ("10.0.0.2", None), ("10.0.0.3", None)]
