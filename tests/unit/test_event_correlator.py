"""Event aggregation and rate limiting (coxapi.eventcorrelator) with a fake clock."""

from __future__ import annotations

from coxapi import errors
from coxapi.eventcorrelator import WARNING, EventCorrelator, Write, perform

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "web", "namespace": "shop", "uid": "u1", "resourceVersion": "7"}}


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def make(interval: float = 10.0) -> tuple[EventCorrelator, Clock]:
    clock = Clock()
    return EventCorrelator("kubelet", "n1", clock, min_interval=interval), clock


def test_the_first_occurrence_is_written_at_once_as_a_new_event():
    c, _ = make()
    c.observe(POD, WARNING, "BackOff", "back-off", "spec.containers{app}")
    [w] = c.due()
    assert w.create
    ev = w.event
    assert ev["metadata"]["namespace"] == "shop" and ev["metadata"]["name"].startswith("web.")
    assert ev["involvedObject"] == {"kind": "Pod", "name": "web", "uid": "u1", "apiVersion": "v1",
                                    "resourceVersion": "7", "namespace": "shop",
                                    "fieldPath": "spec.containers{app}"}
    assert ev["count"] == 1 and ev["firstTimestamp"] == ev["lastTimestamp"]
    assert ev["source"] == {"component": "kubelet", "host": "n1"} and ev["type"] == "Warning"


def test_a_crash_loop_is_one_event_whose_count_grows_with_at_most_one_write_per_interval():
    c, clock = make(interval=10)
    writes = []
    for _ in range(100):  # one occurrence a second for 100 s
        c.observe(POD, WARNING, "BackOff", "back-off", "spec.containers{app}")
        for w in c.due():
            writes.append(w)
            c.written(w)
        clock.t += 1
    names = {w.event["metadata"]["name"] for w in writes}
    assert len(names) == 1
    assert [w.create for w in writes].count(True) == 1
    assert len(writes) <= 11  # the create, then one update per 10 s
    last = writes[-1].event
    assert last["count"] >= 91 and last["lastTimestamp"] > last["firstTimestamp"]
    clock.t += 10
    [final] = c.due()  # what happened since the last write still goes out
    assert final.event["count"] == 100 and not final.create


def test_the_same_reason_with_a_new_message_counts_on_with_the_latest_message():
    c, clock = make()
    c.observe(POD, WARNING, "Unhealthy", "Liveness probe failed: 500", "spec.containers{app}")
    [w] = c.due()
    c.written(w)
    clock.t += 11
    c.observe(POD, WARNING, "Unhealthy", "Liveness probe failed: 503", "spec.containers{app}")
    [w2] = c.due()
    assert w2.event["message"].endswith("503") and w2.event["count"] == 2 and not w2.create


def test_different_reasons_or_containers_are_different_events():
    c, _ = make()
    c.observe(POD, WARNING, "BackOff", "x", "spec.containers{a}")
    c.observe(POD, WARNING, "BackOff", "x", "spec.containers{b}")
    c.observe(POD, "Normal", "Pulled", "x", "spec.containers{a}")
    assert len({w.event["metadata"]["name"] for w in c.due()}) == 3


def test_a_failed_write_stays_due_and_a_deleted_event_is_created_again():
    c, clock = make()
    c.observe(POD, WARNING, "BackOff", "x")
    [w] = c.due()
    c.written(w, ok=False)
    [again] = c.due()
    assert again.create
    c.written(again)
    assert c.due() == [] and c.next_due_in() is None
    clock.t += 20
    c.observe(POD, WARNING, "BackOff", "x")
    assert c.next_due_in() == 0
    [bump] = c.due()
    c.written(bump, ok=False, gone=True)  # expired meanwhile
    [recreate] = c.due()
    assert recreate.create and recreate.event["count"] == 2


def test_an_occurrence_during_a_write_keeps_the_event_due():
    c, clock = make()
    c.observe(POD, WARNING, "BackOff", "x")
    [w] = c.due()
    c.observe(POD, WARNING, "BackOff", "x")  # while the create was in flight
    c.written(w)
    assert c.pending() == 1 and c.due() == []  # due again after the interval
    clock.t += 10
    assert c.due()[0].event["count"] == 2


def test_node_events_land_in_the_default_namespace_and_memory_is_bounded():
    c = EventCorrelator("kubelet", "n1", Clock(), max_events=3)
    node = {"kind": "Node", "apiVersion": "v1", "metadata": {"name": "n1", "uid": "nu"}}
    c.observe(node, "Normal", "NodeReady", "Node n1 status is now: NodeReady")
    assert c.due()[0].event["metadata"]["namespace"] == "default"
    for i in range(10):
        c.observe(POD, WARNING, f"R{i}", "x")
    assert len(c.due()) == 3


def test_events_forgotten_before_they_were_written_are_counted_as_dropped():
    c = EventCorrelator("kubelet", "n1", Clock(), max_events=2)
    for i in range(3):
        c.observe({**POD, "metadata": {**POD["metadata"], "uid": f"u{i}"}}, WARNING, "X", "x")
    assert c.dropped == 1 and len(c.due()) == 2
    for w in c.due():
        c.written(w)
    c.observe({**POD, "metadata": {**POD["metadata"], "uid": "u9"}}, WARNING, "X", "x")
    assert c.dropped == 1  # the one pushed out had been written


def test_perform_folds_a_create_whose_event_exists_and_reports_a_gone_one():
    done: list[str] = []

    def exists(ev: dict) -> None:
        done.append("create")
        raise errors.AlreadyExists("Event", "e")

    def gone(ev: dict) -> None:
        done.append("fold")
        raise errors.NotFound("Event", "e")
    ev = {"metadata": {"name": "e", "namespace": "d"}, "count": 2}
    key = ("u", "d", "p", "", "Normal", "Pulled")
    assert perform(Write(key, ev, True), exists, done.append) == (True, False)
    assert done == ["create", ev]  # created before, its answer lost: counted on
    assert perform(Write(key, ev, False), exists, gone) == (False, True)


def test_among_many_written_events_only_the_dirty_ones_are_due():
    """What is due comes from the dirty Events alone (a correlator full of
    written ones costs nothing per flush), through every way an Event turns
    dirty or clean: a new one, a repeat, a write under way, a gone one, an
    eviction."""
    c, clock = make(interval=10)
    pods = [{**POD, "metadata": {**POD["metadata"], "name": f"p{i}", "uid": f"u{i}"}}
            for i in range(50)]
    for p in pods:
        c.observe(p, "Normal", "Started", "started")
    for w in c.due():
        c.written(w)
    assert (c.pending(), c.due(), c.next_due_in()) == (0, [], None)
    c.observe(pods[7], "Normal", "Started", "again")  # a repeat: due after the interval
    c.observe(pods[3], "Normal", "Pulled", "new")  # a new Event: due now
    assert c.pending() == 2 and c.next_due_in() == 0.0
    [new] = c.due()
    assert new.create and new.event["involvedObject"]["name"] == "p3"
    c.observe(pods[3], "Normal", "Pulled", "while its create was under way")
    c.written(new)
    assert c.pending() == 2 and c.next_due_in() == 10.0
    clock.t += 10
    assert sorted((w.event["involvedObject"]["name"], w.event["count"]) for w in c.due()) \
        == [("p3", 2), ("p7", 2)]
    for w in c.due():
        c.written(w, ok=False, gone=w.event["involvedObject"]["name"] == "p7")
    # a failed write stays due as it was; a gone Event is created again
    assert sorted((w.create, w.event["involvedObject"]["name"]) for w in c.due()) \
        == [(False, "p3"), (True, "p7")]
    small = EventCorrelator("kubelet", "n1", clock, max_events=2)
    for p in pods[:3]:
        small.observe(p, "Normal", "Started", "x")
    assert small.pending() == 2 and small.dropped == 1
    assert [w.event["involvedObject"]["name"] for w in small.due()] == ["p1", "p2"]
