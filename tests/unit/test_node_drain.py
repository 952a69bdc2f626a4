"""Endpoint drain: a terminating pod is stopped only once no live proxy can
still send it a new connection, and never later than its budget."""

from __future__ import annotations

import time

from coxapi import errors, proxyrecord
from coxapi.timefmt import now_rfc3339
from node.drain import (
    PROXY_REVISION_ANNOTATION,
    EndpointDrain,
    endpoints_revision_without,
    lagging_proxies,
    newest_version,
    still_lagging,
)


def ep(name, rv, ready=(), not_ready=()):
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": str(rv)},
            "subsets": [{"addresses": [{"ip": i} for i in ready],
                         "notReadyAddresses": [{"ip": i} for i in not_ready]}]}


def lease(node, revision=None, renewed=None, version=None):
    meta = {"name": node, "namespace": "kube-node-lease"}
    if version is not None:
        meta["resourceVersion"] = str(version)
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
        self.record: proxyrecord.Applied | None = None  # the leader's record, if any
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

    def get(self, kind, name, namespace=None, resource_version=None):
        self.calls += 1
        self.asked.add((f"{kind} {name}", namespace, resource_version))
        if callable(self.endpoints):
            self.endpoints(self.calls)
        if (namespace, name) == (proxyrecord.RECORD_NAMESPACE, proxyrecord.RECORD_NAME):
            if self.record is None:  # no leader keeps one
                raise errors.NotFound(f"lease {name} not found")
            return proxyrecord.record(self.record)
        found = [o for o in self.state_leases if o["metadata"]["name"] == name]
        if not found:
            raise errors.NotFound(f"lease {name} not found")
        return found[0]


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
    # (a watch cache answers from memory): never a consistent list per poll; no
    # record of the proxies (no leader keeps one): the Leases, then the one proxy
    # behind looked at alone, from any replica's copy
    record = ("Lease coxswain-proxies", "kube-system", "7")
    assert client.asked == {("Endpoints", "default", "7"), record,
                            ("Lease", "kube-node-lease", "7"),
                            ("Lease n1", "kube-node-lease", "0")}
    client.asked.clear()
    client.calls = 0
    assert drain.wait(pod(), budget=5, at="9") is True
    assert {a for a in client.asked if a[0] in ("Endpoints", "Lease")} == {
        ("Endpoints", "default", "9"), ("Lease", "kube-node-lease", "9")}


def test_the_leaders_record_is_read_instead_of_every_lease_while_it_catches_up():
    client = CountingClient(proxies=100, behind=100, polls_behind=1)
    client.record = proxyrecord.Applied(live=100, lowest=11)
    original = client.get

    def catching_up(kind, name, namespace=None, resource_version=None):
        if client.gets >= 3:  # the leader has seen every proxy at 12
            client.record = proxyrecord.Applied(live=100, lowest=12)
        return original(kind, name, namespace, resource_version)
    client.get = catching_up
    assert EndpointDrain(client, timeout=5, poll=0.001).wait(pod(), budget=5) is True
    assert client.lists == {"Endpoints": 1, "Lease": 0}
    assert client.asked == {("Endpoints", "default", "7"),
                            ("Lease coxswain-proxies", "kube-system", "7")}
    client.record = proxyrecord.Applied(live=0, lowest=0)  # no proxy is live
    assert EndpointDrain(client, timeout=5, poll=0.001).wait(pod(), budget=5) is True
    assert client.lists == {"Endpoints": 2, "Lease": 0}


def test_a_record_this_node_may_not_read_gives_way_to_the_leases_at_once():
    client = CountingClient(proxies=10, behind=0, polls_behind=0)
    original = client.get
    refused = []

    def forbidden(kind, name, namespace=None, resource_version=None):
        if namespace == proxyrecord.RECORD_NAMESPACE:
            refused.append(name)
            raise errors.Forbidden("leases in kube-system are not this node's to read")
        return original(kind, name, namespace, resource_version)
    client.get = forbidden
    drain = EndpointDrain(client, timeout=5, poll=0.001, record_patience=60)
    assert drain.wait(pod(), budget=5) is True
    assert refused == [proxyrecord.RECORD_NAME]  # asked once, not for the whole patience
    assert client.lists == {"Endpoints": 1, "Lease": 1}


def test_a_record_that_stays_behind_past_its_patience_gives_way_to_the_leases():
    # the leader is gone (its last record stays as it was): the Leases tell
    client = CountingClient(proxies=10, behind=0, polls_behind=0)
    client.record = proxyrecord.Applied(live=10, lowest=11)
    drain = EndpointDrain(client, timeout=5, poll=0.001, record_patience=0.05)
    start = time.monotonic()
    assert drain.wait(pod(), budget=5) is True
    assert time.monotonic() - start >= 0.05
    assert client.lists == {"Endpoints": 1, "Lease": 1}


class CountingClient(FakeClient):
    """Endpoints without the pod from the start; proxies that catch up as polls go by."""

    def __init__(self, proxies, behind, polls_behind):
        super().__init__(None, None)
        self.state_endpoints = [ep("web", 12)]
        self.proxies, self.behind, self.polls_behind = proxies, behind, polls_behind
        self.lists = {"Endpoints": 0, "Lease": 0}
        self.gets = 0
        self.endpoints = self._progress
        self._progress(0)

    def _progress(self, calls):
        late = calls <= self.polls_behind * self.behind  # about a poll's reads each round
        self.state_leases = [lease(f"n{i}", 11 if late and i < self.behind else 12,
                                   version=100 + calls) for i in range(self.proxies)]

    def list(self, kind, namespace=None, resource_version=None):
        self.lists[kind] += 1
        return super().list(kind, namespace, resource_version)

    def get(self, kind, name, namespace=None, resource_version=None):
        self.gets += 1
        return super().get(kind, name, namespace, resource_version)


def test_a_few_proxies_behind_are_read_alone_not_every_lease_listed_again():
    client = CountingClient(proxies=100, behind=2, polls_behind=5)
    assert EndpointDrain(client, timeout=5, poll=0.001).wait(pod(), budget=5) is True
    # the Endpoints once (their revision is what the wait is for), the Leases once
    assert client.lists == {"Endpoints": 1, "Lease": 1}
    assert client.gets >= 10


def test_many_proxies_behind_are_listed_again_until_few_are():
    client = CountingClient(proxies=100, behind=50, polls_behind=1)
    assert EndpointDrain(client, timeout=5, poll=0.001).wait(pod(), budget=5) is True
    assert client.lists["Endpoints"] == 1 and client.lists["Lease"] >= 2


def test_a_read_older_than_the_one_seen_is_not_taken_for_news():
    behind = {"n1": 50}
    stale_caught_up = lease("n1", 12, version=40)  # another master's older copy
    assert still_lagging(behind, [stale_caught_up], 12, time.time(), 40) == {"n1": 50}
    fresh = lease("n1", 12, version=60)
    assert still_lagging(behind, [fresh], 12, time.time(), 40) == {}
    still = lease("n1", 11, version=61)
    assert still_lagging(behind, [still], 12, time.time(), 40) == {"n1": 61}
    # a proxy not read, or not among those behind, changes nothing
    assert still_lagging(behind, [lease("n2", 1, version=70)], 12, time.time(), 40) == behind


def test_a_lagging_proxy_whose_lease_is_gone_stays_waited_for_until_the_budget():
    client = FakeClient(None, None)
    client.state_endpoints = [ep("web", 12)]
    client.state_leases = [lease("n1", 3)]
    drain = EndpointDrain(client, timeout=5, poll=0.01)
    original = client.get

    def gone(kind, name, *a, **kw):
        if name == "n1":
            client.state_leases = []  # the node deleted after the Leases were listed
        return original(kind, name, *a, **kw)
    client.get = gone
    assert drain.wait(pod(), budget=0.1) is False


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
