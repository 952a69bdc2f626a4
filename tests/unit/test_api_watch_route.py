"""Routing a batch of pod events to watch filters (master.api.watchroute):
filters that want one node's pods are filed by node, and every filter gets
exactly the events it matches, in order, as if each were checked against all."""

from __future__ import annotations

import random

import pytest

from coxapi import kinds, labels
from master.api import fields
from master.api.watch import Filter
from master.api.watchroute import TRIGGER_FIELDS, FilterGroups
from master.watchcache import CachedEvent, Entry

POD = kinds.lookup("Pod")
NODES = ["", "n1", "n2", "n3"]


def pod_event(rev: int, rng: random.Random) -> CachedEvent:
    ns = rng.choice(["default", "kube-system"])
    node = rng.choice(NODES)
    obj = {"metadata": {"name": f"p{rev}", "namespace": ns,
                        "labels": {"app": rng.choice(["web", "db"])}},
           "spec": {"nodeName": node} if node else {},
           "status": {"phase": rng.choice(["Pending", "Running"])}}
    return CachedEvent(rev, rng.choice(["ADDED", "MODIFIED", "DELETED"]),
                       Entry(f"{POD.storage_prefix(ns)}p{rev}", obj, b"{}"))


def random_filter(rng: random.Random) -> Filter:
    parts = []
    if rng.random() < 0.7:
        parts.append(f"spec.nodeName{rng.choice(['=', '==', '!='])}{rng.choice(NODES)}")
    if rng.random() < 0.3:
        parts.append(f"status.phase={rng.choice(['Pending', 'Running'])}")
    label = labels.parse_selector(rng.choice(["", "app=web", "app!=db"]))
    ns = rng.choice([None, "default"])
    return Filter(POD.storage_prefix(ns), label, fields.parse(",".join(parts), "Pod"))


@pytest.mark.parametrize("seed", range(20))
def test_every_filter_gets_exactly_its_events_in_order(seed):
    rng = random.Random(seed)
    groups: FilterGroups = FilterGroups(TRIGGER_FIELDS["pods"])
    live: dict[Filter, set[int]] = {}
    for w in range(40):
        f = random_filter(rng)
        groups.add(f, w)
        live.setdefault(f, set()).add(w)
    for w in rng.sample(range(40), 15):  # some watchers leave again
        f = next(f for f, ws in live.items() if w in ws)
        groups.remove(f, w)
        live[f].discard(w)
        if not live[f]:
            del live[f]
    assert groups.watchers == live
    batch = [pod_event(rev, rng) for rev in range(1, 60)]
    routed = dict(groups.route(batch))
    want = {f: [ev for ev in batch if f.matches(ev.entry)] for f in live}
    assert routed == {f: evs for f, evs in want.items() if evs}


def test_a_node_filter_is_not_checked_against_other_nodes_pods():
    checked: list[str] = []

    class Counting(Filter):
        def matches(self, e: Entry) -> bool:
            checked.append(self.field_selector[0].value if self.field_selector else "*")
            return super().matches(e)

    groups: FilterGroups = FilterGroups(TRIGGER_FIELDS["pods"])
    for n in range(100):
        groups.add(Counting(POD.storage_prefix(None), (),
                            fields.parse(f"spec.nodeName=node-{n}", "Pod")), n)
    groups.add(Counting(POD.storage_prefix(None)), "all")
    ev = CachedEvent(1, "MODIFIED", Entry(f"{POD.storage_prefix('default')}p",
                                          {"metadata": {"name": "p", "namespace": "default"},
                                           "spec": {"nodeName": "node-7"}}, b"{}"))
    assert [f.field_selector[0].value if f.field_selector else "*"
            for f, _ in groups.route([ev])] == ["*", "node-7"]
    assert sorted(checked) == ["*", "node-7"]
    # the last watcher of a filter gone: its filter is filed nowhere any more
    groups.remove(Counting(POD.storage_prefix(None), (),
                           fields.parse("spec.nodeName=node-7", "Pod")), 7)
    assert [f for f, _ in groups.route([ev])] == [Counting(POD.storage_prefix(None))]
    assert len(groups) == 100
