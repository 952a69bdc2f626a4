"""Informer (list + watch cache) and the work queue."""

from __future__ import annotations

import threading
import time

import pytest

from master.controllers.testing import make_context, pod
from master.informer import Informer
from master.workqueue import WorkQueue
from tests.support import wait_until


def recorder(inf):
    seen = []
    inf.add_handler(lambda o: seen.append(("add", o["metadata"]["name"])),
                    lambda old, new: seen.append(("update", new["metadata"]["name"])),
                    lambda o: seen.append(("delete", o["metadata"]["name"])))
    return seen


def test_watch_events_keep_the_cache_and_call_handlers():
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    inf = Informer(ctx.objects, "Pod", poll=0.05)
    seen = recorder(inf)
    inf.start()
    try:
        assert inf.wait_for_sync(5)
        ctx.objects.create(pod("b"))
        ctx.objects.guaranteed_update("Pod", "default", "a",
                                      lambda o: {**o, "status": {"phase": "Running"}})
        ctx.objects.delete("Pod", "default", "b")
        wait_until(lambda: ("delete", "b") in seen, 5, what="delete event")
    finally:
        inf.stop()
        inf.join(2)
    assert seen == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "b")]
    assert inf.list_keys() == ["default/a"]
    assert inf.get("default/a")["status"]["phase"] == "Running"
    assert not inf.thread.is_alive()


def test_compacted_watch_relists_and_delivers_the_difference():
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    ctx.objects.create(pod("b"))
    inf = Informer(ctx.objects, "Pod", poll=0.05)
    seen = recorder(inf)
    inf.relist()  # cache at this revision
    ctx.objects.delete("Pod", "default", "a")
    ctx.objects.create(pod("c"))
    ctx.objects.guaranteed_update("Pod", "default", "b",
                                  lambda o: {**o, "status": {"phase": "Running"}})
    ctx.objects.store.compact(ctx.objects.store.revision())  # the changes' history is gone
    inf.start()
    try:
        wait_until(lambda: set(inf.list_keys()) == {"default/b", "default/c"}, 5,
                   what="cache re-listed after Gone")
    finally:
        inf.stop()
        inf.join(2)
    assert set(seen[2:]) == {("delete", "a"), ("add", "c"), ("update", "b")}
    assert inf.get("default/b")["status"]["phase"] == "Running"


def test_indexes_follow_updates():
    ctx, _ = make_context()
    ctx.objects.create(pod("a", node_name="n1"))
    inf = Informer(ctx.objects, "Pod")
    inf.add_index("node", lambda p: [p["spec"]["nodeName"]] if p["spec"].get("nodeName") else [])
    inf.relist()
    assert [p["metadata"]["name"] for p in inf.by_index("node", "n1")] == ["a"]
    ctx.objects.guaranteed_update("Pod", "default", "a",
                                  lambda o: {**o, "spec": {**o["spec"], "nodeName": "n2"}})
    inf.relist()
    assert inf.by_index("node", "n1") == []
    assert [p["metadata"]["name"] for p in inf.by_index("node", "n2")] == ["a"]


def test_workqueue_dedupes_and_never_hands_a_key_to_two_workers():
    q = WorkQueue()
    q.add("k")
    q.add("k")
    assert len(q) == 1
    assert q.get(0) == "k"
    q.add("k")  # while processing: marked dirty, not handed out
    assert q.get(0) is None
    q.done("k")
    assert q.get(0) == "k"


def test_workqueue_backoff_grows_and_forget_resets():
    q = WorkQueue(base_delay=0.01, max_delay=1.0)
    delays = [q.add_rate_limited("k") for _ in range(4)]
    assert delays == [0.01, 0.02, 0.04, 0.08]
    q.forget("k")
    assert q.add_rate_limited("k") == 0.01


def test_workqueue_delayed_key_arrives_after_its_delay():
    q = WorkQueue()
    start = time.monotonic()
    q.add_after("k", 0.1)
    assert q.get(timeout=2) == "k"
    assert time.monotonic() - start >= 0.1


def test_workqueue_shutdown_wakes_a_blocked_get():
    q = WorkQueue()
    got = []
    t = threading.Thread(target=lambda: got.append(q.get()))
    t.start()
    q.shutdown()
    t.join(1)
    assert not t.is_alive() and got == [None]


def test_workqueue_drain_handles_queued_keys_not_delayed_ones():
    q = WorkQueue()
    q.add("a")
    q.add("b")
    q.add_after("later", 60)
    seen = []

    def handle(key):
        seen.append(key)
        if key == "a":
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        q.drain(handle)
    assert q.drain(handle) == 1  # "a" was marked done despite the error
    assert seen == ["a", "b"] and len(q) == 0
