"""The masters' event recorders: aggregated by the correlator, written by one
writer thread that never holds up the controller recording them."""

from __future__ import annotations

import threading

from master.controllers.events import EventRecorder, EventWriter
from master.controllers.replicaset import ReplicaSetController
from master.controllers.testing import make_context
from tests.support import wait_until

POD = {"kind": "Pod", "apiVersion": "v1",
       "metadata": {"name": "p", "namespace": "default", "uid": "u"}}


def stored(ctx, reason=None):
    return [e for e in ctx.objects.list("Event", "default")[0]
            if reason is None or e["reason"] == reason]


def test_without_a_writer_each_occurrence_is_written_at_once_folded_into_one_event():
    ctx, _ = make_context()
    rec = ctx.recorder("test")
    rec.normal(POD, "Pulled", "first")
    rec.normal(POD, "Pulled", "second")
    [ev] = stored(ctx)
    assert (ev["count"], ev["message"]) == (2, "second")
    assert ev["source"] == {"component": "test"} and ev["involvedObject"]["name"] == "p"


def run_writer(ctx):
    stop = threading.Event()
    t = threading.Thread(target=ctx.events.run, args=(stop,), daemon=True)
    t.start()
    return stop, t


def test_recording_returns_while_the_store_is_busy_and_the_writer_writes_it_later():
    ctx, _ = make_context()
    rec = ctx.recorder("test")
    gate, real_create = threading.Event(), ctx.objects.create
    ctx.objects.create = lambda obj, **kw: (gate.wait(), real_create(obj, **kw))[1]
    stop, t = run_writer(ctx)
    wait_until(lambda: rec._wake is not None, 5, what="the writer taking over")
    rec.normal(POD, "Started", "started")  # would hang here if it waited for the store
    rec.normal(POD, "Started", "started again")
    assert stored(ctx) == []
    gate.set()
    [ev] = wait_until(lambda: stored(ctx), 5, what="the event written")
    assert ev["reason"] == "Started"
    stop.set()
    ctx.events.wake()
    t.join(5)
    assert not t.is_alive()


def test_with_a_writer_an_event_is_rewritten_at_most_once_per_interval():
    ctx, clock = make_context()
    rec = ctx.recorder("test")
    stop, t = run_writer(ctx)
    wait_until(lambda: rec._wake is not None, 5, what="the writer taking over")
    rec.normal(POD, "SuccessfulCreate", "Created pod: p0")
    wait_until(lambda: stored(ctx), 5, what="the first write")
    for i in range(1, 50):
        rec.normal(POD, "SuccessfulCreate", f"Created pod: p{i}")
    # folded in, waiting for the interval (the fake clock has not moved)
    assert rec.correlator.pending() == 1 and stored(ctx)[0]["count"] == 1
    clock.advance(ctx.events.min_interval)
    ctx.events.wake()
    ev = wait_until(lambda: next((e for e in stored(ctx) if e["count"] == 50), None), 5,
                    what="the count written after the interval")
    assert ev["message"] == "Created pod: p49"
    stop.set()
    ctx.events.wake()
    t.join(5)


def test_a_failed_write_stays_due_and_is_written_once_the_store_takes_it():
    ctx, _ = make_context()
    real_create, fail = ctx.objects.create, [True]

    def flaky(obj, **kw):
        if fail[0]:
            raise RuntimeError("no quorum")
        return real_create(obj, **kw)
    ctx.objects.create = flaky
    rec = EventWriter().add(EventRecorder(ctx.objects, "test"))
    rec.normal(POD, "Killing", "stopping")  # inline: fails, logged, never raised
    assert stored(ctx) == [] and rec.correlator.pending() == 1
    fail[0] = False
    assert rec.flush() == 0
    assert [e["reason"] for e in stored(ctx)] == ["Killing"]


def test_a_replicaset_scaling_up_records_one_successful_create_event_counting_every_pod():
    ctx, _ = make_context()
    ctx.objects.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": "web", "namespace": "default"},
                        "spec": {"replicas": 20, "selector": {"matchLabels": {"a": "b"}},
                                 "template": {"metadata": {"labels": {"a": "b"}},
                                              "spec": {"containers": [{"name": "c"}]}}}})
    rsc = ReplicaSetController(ctx)
    ctx.informers.relist()
    rsc.drain()
    assert len(ctx.objects.list("Pod", "default")[0]) == 20
    [ev] = stored(ctx, "SuccessfulCreate")
    assert ev["count"] == 20 and ev["message"].startswith("Created pod: web-")
