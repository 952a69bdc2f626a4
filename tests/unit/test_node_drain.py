"""Endpoint drain: a terminating pod is stopped only once no live proxy can
still send it a new connection, and never later than its budget."""

from __future__ import annotations

import time

from coxapi import errors
from coxapi.timefmt import now_rfc3339
from node.drain import (
    PROXY_REVISION_ANNOTATION,
    EndpointDrain,
    endpoints_revision_without,
    lagging_proxies,
    newest_version,
)


def ep(name, rv, ready=(), not_ready=()):
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)},
            "subsets": [{"addresses": [{"ip": i} for i in ready],
                         "notReadyAddresses": [{"ip": i} for i in not_ready]}]}


def lease(node, revision=None, renewed=None):
    meta = {"name": node, "namespace": "kube-node-lease"}
    if revision is not None:
        meta["annotations"] = {PROXY_REVISION_ANNOTATION: str(revision)}
    return {"metadata": meta, "spec": {"renewTime": renewed or now_rfc3339(micro=True)}}


def test_not_drained_while_any_endpoints_lists_the_pod_as_ready():
    assert endpoints_revision_without("10.244.0.5", [ep("a", 7, ready=["10.244.0.5"])]) is None


def test_drained_revision_is_the_newest_endpoints_version():
    eps = [ep("a", 7, ready=["10.244.0.6"], not_ready=["10.244.0.5"]), ep("b", 9)]
    assert endpoints_revision_without("10.244.0.5", eps) == 9


def test_a_live_proxy_behind_the_revision_is_lagging():
    leases = [lease("n1", 10), lease("n2", 8)]
    assert lagging_proxies(leases, 9, time.time(), 40) == ["n2"]


def test_nodes_without_a_proxy_or_with_a_dead_lease_wait_for_no_one():
    stale = "2020-01-01T00:00:00.000000Z"
    leases = [lease("noproxy"), lease("dead", 1, renewed=stale)]
    assert lagging_proxies(leases, 9, time.time(), 40) == []


class FakeClient:
    def __init__(self, endpoints, leases):
        self.endpoints, self.leases = endpoints, leases
        self.calls = 0
        self.asked: set[tuple[str, str | None, str | None]] = set()

    def list(self, kind, namespace=None, resource_version=None):
        self.calls += 1
        self.asked.add((kind, namespace, resource_version))
        if callable(self.endpoints):
            self.endpoints(self.calls)
        if kind == "Endpoints":
            return {"items": self.state_endpoints}
        return {"items": self.state_leases}


def pod(ip="10.244.0.5"):
    return {"metadata": {"name": "web-1", "namespace": "default", "resourceVersion": "7"},
            "status": {"podIP": ip}}


def test_wait_returns_once_the_endpoint_left_and_every_proxy_caught_up():
    client = FakeClient(None, None)

    def progress(calls):  # the controller and then the proxies catch up over a few polls
        removed = calls > 4
        client.state_endpoints = [ep("web", 12 if removed else 11,
                                     ready=[] if removed else ["10.244.0.5"])]
        client.state_leases = [lease("n1", 12 if calls > 8 else 11), lease("n2", 12)]

    client.endpoints = progress
    drain = EndpointDrain(client, timeout=5, poll=0.01)
    assert drain.wait(pod(), budget=5) is True
    assert client.calls >= 9
    # the pod's namespace only, and any state not older than the pod's own version
    # (a watch cache answers from memory): never a consistent list per poll
    assert client.asked == {("Endpoints", "default", "7"), ("Lease", "kube-node-lease", "7")}
    client.asked.clear()
    assert drain.wait(pod(), budget=5, at="9") is True
    assert client.asked == {("Endpoints", "default", "9"), ("Lease", "kube-node-lease", "9")}


def test_wait_gives_up_at_the_budget_when_a_proxy_never_catches_up():
    client = FakeClient(None, None)
    client.state_endpoints = [ep("web", 12)]
    client.state_leases = [lease("n1", 3)]
    drain = EndpointDrain(client, timeout=5, poll=0.01)
    start = time.monotonic()
    assert drain.wait(pod(), budget=0.2) is False
    assert 0.2 <= time.monotonic() - start < 5


def test_an_unreachable_api_only_delays_the_stop():
    class Down:
        def list(self, *a, **kw):
            raise errors.ClusterUnreachable("no master answered")

    assert EndpointDrain(Down(), timeout=0.1, poll=0.01).wait(pod(), budget=10) is False


def test_the_newest_version_of_a_pod_is_the_highest_number():
    assert newest_version({"metadata": {"resourceVersion": "9"}}, None,
                          {"metadata": {"resourceVersion": "12"}}, {"metadata": {}}) == "12"
    assert newest_version(None, {"metadata": {}}) is None
    assert newest_version({"metadata": {"resourceVersion": "²"}}) is None  # isdigit, not int


def test_a_pod_without_an_ip_needs_no_drain():
    assert EndpointDrain(object(), timeout=5).wait(pod(ip=""), budget=5) is True


def test_a_namespace_without_endpoints_needs_no_proxy_waited_for():
    # no Service in the namespace: no proxy can route to the pod, so the node
    # Leases (one per node: 100 on a 100-node cluster) are not listed at all
    client = FakeClient(None, None)
    client.state_endpoints = []
    client.state_leases = [lease("n1", 3)]  # would be lagging behind any revision > 3
    assert EndpointDrain(client, timeout=5, poll=0.01).wait(pod(), budget=5) is True
    assert client.asked == {("Endpoints", "default", "7")}
