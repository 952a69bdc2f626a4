"""The nodes' usage history every master keeps for the dashboard's charts
(master.usagehistory): a bounded ring per node, oldest first, fed from the
Lease events passing through the watch caches, and dropped with its node."""

from __future__ import annotations

from typing import Any

from coxapi import kinds
from coxapi.timefmt import rfc3339
from coxapi.usagereport import USAGE_ANNOTATION, UsageReport
from master.usagehistory import LEASE_NAMESPACE, UsageHistory, UsageTap, sample_of
from master.watchcache import CachedEvent, Entry


def test_a_ring_keeps_at_most_its_capacity_and_still_covers_the_window():
    h = UsageHistory(window=100.0, capacity=10)  # at most one sample per 10 s
    for t in range(0, 1000):  # one a second: ten times too many
        h.add("n1", (float(t), t, 2 * t))
    kept = h.since(now=999.0)["n1"]
    assert len(kept) <= 10
    assert kept[-1][0] - kept[0][0] >= 80  # thinned, not cut short: still the window
    assert [s[0] for s in kept] == sorted(s[0] for s in kept)


def test_every_report_of_a_normal_agent_is_kept_oldest_first():
    h = UsageHistory()  # the hour, 800 samples: an agent reporting every 5 s fits
    start = 1_000_000.0
    for i in range(720):
        h.add("n1", (start + 5 * i + (0.01 if i % 2 else 0), i, i))
    kept = h.since(now=start + 3596)["n1"]  # the newest just in, the oldest 59:56 ago
    assert [s[1] for s in kept] == list(range(720))


def test_a_repeated_or_older_report_is_dropped():
    h = UsageHistory(window=3600.0, capacity=720)
    assert h.add("n1", (100.0, 1, 1))
    assert not h.add("n1", (100.0, 1, 1))  # the same report on the next Lease renewal
    assert not h.add("n1", (90.0, 9, 9))  # an agent clock gone backwards
    assert h.add("n1", (105.0, 2, 2))
    assert h.since(now=200.0) == {"n1": [(100.0, 1, 1), (105.0, 2, 2)]}


def test_samples_older_than_the_window_go_and_since_gives_only_newer_ones():
    h = UsageHistory(window=60.0, capacity=60)
    for t in (0.0, 30.0, 50.0, 70.0):
        h.add("n1", (t, int(t), 0))
    assert [s[0] for s in h.since(now=80.0)["n1"]] == [30.0, 50.0, 70.0]
    assert [s[0] for s in h.since(now=80.0, after=50.0)["n1"]] == [70.0]
    assert [s[0] for s in h.since(now=1000.0)["n1"]] == []


def lease(node: str, t: float, cpu: int, mem: int, namespace: str = LEASE_NAMESPACE) -> dict:
    report = UsageReport(rfc3339(t, micro=True), 5.0, (cpu, mem)).encode()
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": namespace,
                         "annotations": {USAGE_ANNOTATION: report}}}


class Recorder:
    def __init__(self) -> None:
        self.batches: list[tuple[str, int]] = []
        self.resets: list[str] = []

    def events(self, cache: Any, batch: list[CachedEvent], revision: int) -> None:
        self.batches.append((cache.kind.kind, revision))

    def reset(self, cache: Any) -> None:
        self.resets.append(cache.kind.kind)


class FakeCache:
    def __init__(self, resource: str) -> None:
        self.kind = kinds.lookup(resource)


def event(rev: int, type_: str, obj: dict) -> CachedEvent:
    return CachedEvent(rev, type_, Entry(f"/k/{rev}", obj, b"{}"))


def test_the_tap_feeds_the_history_from_lease_events_and_passes_every_event_on():
    h, inner = UsageHistory(), Recorder()
    tap = UsageTap(inner, h)
    leases, nodes = FakeCache("leases"), FakeCache("nodes")
    tap.events(leases, [event(1, "ADDED", lease("n1", 1000.0, 250_000_000, 1 << 30)),
                        event(2, "ADDED", lease("n2", 1000.0, 1, 2)),
                        event(3, "MODIFIED", lease("n1", 1005.0, 500_000_000, 1 << 30)),
                        event(4, "ADDED", lease("holder", 1000.0, 7, 7, namespace="default")),
                        event(5, "MODIFIED", {"metadata": {"name": "n3", "namespace":
                                                            LEASE_NAMESPACE}})], 5)
    got = h.since(now=1010.0)
    assert got == {"n1": [(1000.0, 250_000_000, 1 << 30), (1005.0, 500_000_000, 1 << 30)],
                   "n2": [(1000.0, 1, 2)]}  # not a Lease elsewhere, not one without a report
    tap.reset(leases)
    tap.events(nodes, [event(6, "MODIFIED", {"metadata": {"name": "n2"}})], 6)
    assert h.nodes() == ["n1", "n2"]
    assert inner.batches == [("Lease", 5), ("Node", 6)] and inner.resets == ["Lease"]


def test_a_nodes_history_goes_with_its_node_or_its_lease():
    h = UsageHistory()
    tap = UsageTap(Recorder(), h)
    leases, nodes = FakeCache("leases"), FakeCache("nodes")
    tap.events(leases, [event(1, "ADDED", lease("n1", 1000.0, 1, 1)),
                        event(2, "ADDED", lease("n2", 1000.0, 1, 1))], 2)
    tap.events(nodes, [event(3, "DELETED", {"metadata": {"name": "n1"}})], 3)
    assert h.nodes() == ["n2"]
    tap.events(leases, [event(4, "DELETED", lease("n2", 1000.0, 1, 1))], 4)
    assert h.nodes() == [] and h.since(now=1001.0) == {}


def test_a_malformed_report_is_no_sample():
    bad = lease("n1", 1000.0, 1, 1)
    bad["metadata"]["annotations"][USAGE_ANNOTATION] = '{"t": "yesterday", "w": 5, "node": [1, 1]}'
    assert sample_of(bad) is None
    bad["metadata"]["annotations"][USAGE_ANNOTATION] = "not json"
    assert sample_of(bad) is None
    assert sample_of({"metadata": {"name": "n1"}}) is None
