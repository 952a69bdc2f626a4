"""The informer (list + watch cache, coxapi/informer.py) and the work queue."""

from __future__ import annotations

import threading
import time

import pytest

from coxapi.errors import ClusterUnreachable
from coxapi.informer import Informer
from coxapi.supervisor import StopEvent
from master.controllers.testing import make_context, pod
from master.listwatch import StoreListWatcher
from master.workqueue import WorkQueue
from netproxy.testing import FakeApi
from tests.support import wait_until


def recorder(inf):
    seen = []
    inf.add_handler(lambda o: seen.append(("add", o["metadata"]["name"])),
                    lambda old, new: seen.append(("update", new["metadata"]["name"])),
                    lambda o: seen.append(("delete", o["metadata"]["name"])))
    return seen


def obj(name: str, **extra) -> dict:
    return {"metadata": {"name": name, "namespace": "default"}, **extra}


def names(inf: Informer) -> set[str]:
    return {o["metadata"]["name"] for o in inf.list()}


@pytest.fixture
def running():
    """Start informers; stop and join them (and close their fake API) after the test."""
    started: list[tuple[Informer, FakeApi | None]] = []

    def start(inf: Informer, api: FakeApi | None = None) -> Informer:
        inf.start()
        started.append((inf, api))
        return inf

    yield start
    for inf, api in started:
        inf.stop()
        if api is not None:
            api.close()
        inf.join(2)
        assert not inf.thread.is_alive()


# ---- over the in-process object store ------------------------------------------


def test_watch_events_keep_the_cache_and_call_handlers(running):
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    inf = Informer(StoreListWatcher(ctx.objects, poll=0.05), "Pod")
    seen = recorder(inf)
    running(inf)
    assert inf.wait_for_sync(5)
    ctx.objects.create(pod("b"))
    ctx.objects.guaranteed_update("Pod", "default", "a",
                                  lambda o: {**o, "status": {"phase": "Running"}})
    ctx.objects.delete("Pod", "default", "b")
    wait_until(lambda: ("delete", "b") in seen, 5, what="delete event")
    assert seen == [("add", "a"), ("add", "b"), ("update", "a"), ("delete", "b")]
    assert inf.list_keys() == ["default/a"]
    assert inf.get("default/a")["status"]["phase"] == "Running"


def test_an_in_process_watch_is_read_on_the_informers_own_thread(running):
    # no pump thread between the store's watch and the cache (one wake per event);
    # resyncs still come, and a stop still ends it (the fixture joins it in 2 s)
    ctx, _ = make_context()
    inf = Informer(StoreListWatcher(ctx.objects, poll=0.05), "Pod", name="inline",
                   resync_period=0.1)
    on_thread: list[tuple[str, str]] = []
    inf.add_handler(lambda o: on_thread.append(("add", threading.current_thread().name)),
                    lambda old, new: on_thread.append(("update", threading.current_thread().name)))
    running(inf)
    assert inf.wait_for_sync(5)
    ctx.objects.create(pod("a"))
    wait_until(lambda: ("add", "inline") in on_thread, 5, what="the add")
    wait_until(lambda: on_thread.count(("update", "inline")) >= 2, 5, what="two resyncs")
    assert {name for _, name in on_thread} == {"inline"}
    assert not [t for t in threading.enumerate() if t.name == "inline-watch"]


@pytest.mark.parametrize("how", ["stop()", "its StopEvent"])
def test_a_quiet_in_process_watch_ends_at_a_stop_not_at_its_next_bookmark(how):
    # The leader's informers bookmark every few seconds only: a stop must not wait for one.
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    inf = Informer(StoreListWatcher(ctx.objects, poll=60), "Pod", name="quiet")
    stop = StopEvent()
    thread = threading.Thread(target=inf.run, args=(stop,), name="quiet")
    thread.start()
    assert inf.wait_for_sync(5)
    wait_until(lambda: inf._stream is not None, 5, what="the watch open")
    t0 = time.monotonic()
    if how == "stop()":
        inf.stop()
    else:
        stop.set()
    thread.join(5)
    assert not thread.is_alive(), "still waiting for a bookmark a minute away"
    assert time.monotonic() - t0 < 5


def test_an_interrupted_store_stream_ends_even_before_it_opened():
    ctx, _ = make_context()
    stream = StoreListWatcher(ctx.objects, poll=60).watch("Pod")
    stream.interrupt()  # before the first read opened the store's watch
    t0 = time.monotonic()
    assert list(stream) == []
    assert time.monotonic() - t0 < 5


def test_compacted_watch_relists_and_delivers_the_difference(running):
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    ctx.objects.create(pod("b"))
    inf = Informer(StoreListWatcher(ctx.objects, poll=0.05), "Pod")
    seen = recorder(inf)
    inf.relist()  # cache at this revision
    ctx.objects.delete("Pod", "default", "a")
    ctx.objects.create(pod("c"))
    ctx.objects.guaranteed_update("Pod", "default", "b",
                                  lambda o: {**o, "status": {"phase": "Running"}})
    ctx.objects.store.compact(ctx.objects.store.revision())  # the changes' history is gone
    running(inf)
    wait_until(lambda: set(inf.list_keys()) == {"default/b", "default/c"}, 5,
               what="cache re-listed after Gone")
    assert set(seen[2:]) == {("delete", "a"), ("add", "c"), ("update", "b")}
    assert inf.get("default/b")["status"]["phase"] == "Running"
    assert inf.relists == 2


def test_indexes_follow_updates():
    ctx, _ = make_context()
    ctx.objects.create(pod("a", node_name="n1"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod")
    inf.add_index("node", lambda p: [p["spec"]["nodeName"]] if p["spec"].get("nodeName") else [])
    inf.relist()
    assert [p["metadata"]["name"] for p in inf.by_index("node", "n1")] == ["a"]
    ctx.objects.guaranteed_update("Pod", "default", "a",
                                  lambda o: {**o, "spec": {**o["spec"], "nodeName": "n2"}})
    inf.relist()
    assert inf.by_index("node", "n1") == []
    assert [p["metadata"]["name"] for p in inf.by_index("node", "n2")] == ["a"]


def test_an_index_reads_the_newest_version_in_the_order_objects_came():
    ctx, _ = make_context()
    for name in ("a", "b", "c"):
        ctx.objects.create(pod(name, node_name="n1"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod")
    inf.add_index("node", lambda p: [p["spec"]["nodeName"]])
    inf.relist()
    ctx.objects.guaranteed_update("Pod", "default", "a",
                                  lambda o: {**o, "metadata": {**o["metadata"], "labels": {"x": "1"}}})
    inf.relist()  # a changes but keeps its node: same bucket, same place, new version
    assert [(p["metadata"]["name"], p["metadata"]["labels"]) for p in inf.by_index("node", "n1")] \
        == [("a", {"x": "1"}), ("b", {}), ("c", {})]


def test_the_same_index_asked_twice_is_built_once_and_another_under_its_name_refused():
    ctx, _ = make_context()
    ctx.objects.create(pod("a", node_name="n1"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod")
    calls = []

    def node(p):
        calls.append(p["metadata"]["name"])
        return [p["spec"]["nodeName"]]

    inf.relist()
    inf.add_index("node", node)
    inf.add_index("node", node)  # a second controller sharing the informer
    assert calls == ["a"]
    with pytest.raises(ValueError, match="'node'"):
        inf.add_index("node", lambda p: [])
    assert [p["metadata"]["name"] for p in inf.by_index("node", "n1")] == ["a"]


def test_events_older_than_a_list_made_meanwhile_are_skipped():
    # The node agent lists from its sync loop while the watch thread feeds events: a
    # list may overtake the stream, whose events up to it are then stale.
    ctx, _ = make_context()
    a = ctx.objects.create(pod("a"))
    b = ctx.objects.create(pod("b"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod")
    inf.relist()
    seen = recorder(inf)
    relabelled = ctx.objects.guaranteed_update(
        "Pod", "default", "b", lambda o: {**o, "metadata": {**o["metadata"], "labels": {"v": "2"}}})
    ctx.objects.delete("Pod", "default", "a")
    inf.relist()  # a gone, b relabelled
    assert seen == [("delete", "a"), ("update", "b")]
    inf.apply_event("MODIFIED", a)  # what the watch, behind, still had to deliver
    inf.apply_event("MODIFIED", b)
    inf.apply_event("DELETED", relabelled)  # no newer than what the cache holds
    assert inf.get("default/a") is None, "a deleted pod came back"
    assert inf.get("default/b")["metadata"]["labels"] == {"v": "2"}
    assert seen == [("delete", "a"), ("update", "b")]
    again = {**a, "metadata": {**a["metadata"], "uid": "new",
                               "resourceVersion": str(inf.revision + 1)}}
    inf.apply_event("ADDED", again)  # newer than the list: a made again
    assert inf.get("default/a")["metadata"]["uid"] == "new" and seen[-1] == ("add", "a")


def test_a_namespace_lists_its_own_objects_as_they_come_and_go():
    ctx, _ = make_context()
    ctx.objects.create(pod("a"))
    ctx.objects.create(pod("b", namespace="other"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod")
    inf.relist()
    assert [p["metadata"]["name"] for p in inf.list("default")] == ["a"]
    ctx.objects.create(pod("c"))
    ctx.objects.guaranteed_update("Pod", "default", "a",
                                  lambda o: {**o, "metadata": {**o["metadata"], "labels": {"x": "1"}}})
    inf.relist()
    assert [(p["metadata"]["name"], p["metadata"]["labels"]) for p in inf.list("default")] \
        == [("a", {"x": "1"}), ("c", {})]  # the cached versions, in the order they came
    ctx.objects.delete("Pod", "other", "b")
    inf.relist()
    assert inf.list("other") == [] and inf.list("nowhere") == []
    assert sorted(p["metadata"]["name"] for p in inf.list()) == ["a", "c"]


def test_selectors_reach_the_store():
    ctx, _ = make_context()
    ctx.objects.create(pod("a", node_name="n1"))
    ctx.objects.create(pod("b", node_name="n2"))
    inf = Informer(StoreListWatcher(ctx.objects), "Pod", field_selector="spec.nodeName=n2")
    inf.relist()
    assert names(inf) == {"b"}


# ---- over the HTTP client's shape (a fake API) -----------------------------------


def test_list_then_watch_tracks_adds_updates_and_deletes(running):
    api = FakeApi()
    api.put("services", obj("a"))
    inf = running(Informer(api, "services"), api)
    seen = recorder(inf)
    assert inf.wait_for_sync(5) and names(inf) == {"a"}
    api.put("services", obj("b"))
    api.put("services", obj("a", spec={"x": 1}))
    api.delete("services", "default", "b")
    wait_until(lambda: ("delete", "b") in seen, 5, what="delete event")
    assert seen == [("add", "b"), ("update", "a"), ("delete", "b")]
    assert names(inf) == {"a"} and inf.get("default/a")["spec"] == {"x": 1}


def test_410_gone_relists_and_sees_changes_made_meanwhile(running):
    api = FakeApi()
    api.put("services", obj("a"))
    inf = running(Informer(api, "services"), api)
    seen = recorder(inf)
    assert inf.wait_for_sync(5)
    api.break_watches(compact=True)  # open streams end with 410; old versions are gone
    api.put("services", obj("b"))
    api.delete("services", "default", "a")
    wait_until(lambda: names(inf) == {"b"}, 5, what="the change after 410")
    assert api.lists["services"] >= 2 and inf.relists >= 2
    assert ("add", "b") in seen and ("delete", "a") in seen


def test_a_failed_list_is_retried_with_back_off(running):
    api = FakeApi()
    api.put("services", obj("a"))
    api.list_errors["services"] = ClusterUnreachable("no API server answered")
    inf = running(Informer(api, "services", backoff=(0.01, 0.05)), api)
    wait_until(lambda: api.lists["services"] >= 3, 5, what="list retried")
    assert not inf.wait_for_sync(0)
    del api.list_errors["services"]
    assert inf.wait_for_sync(5) and names(inf) == {"a"}


def test_a_stalled_watch_is_abandoned_and_the_kind_listed_again(running):
    api = FakeApi()
    api.put("services", obj("a"))
    inf = running(Informer(api, "services", stall_timeout=0.3), api)
    assert inf.wait_for_sync(5)
    api.hang = True  # the next watch hangs without a word, like a SIGSTOPped master
    api.break_watches(error=ConnectionError("reset"))
    api.put("services", obj("b"))
    wait_until(lambda: inf.stalls >= 1, 5, what="the stalled watch abandoned")
    api.hang = False
    wait_until(lambda: names(inf) == {"a", "b"}, 5, what="the change seen after the stall")


def test_bookmarks_count_as_progress_and_advance_the_revision():
    inf = Informer(FakeApi(), "services", stall_timeout=0.3)
    inf.apply_event("BOOKMARK", {"metadata": {"resourceVersion": "42"}})
    assert inf.versioned_list() == ([], 42)


def test_resync_redelivers_every_cached_object_as_an_update(running):
    api = FakeApi()
    api.put("services", obj("a"))
    inf = Informer(api, "services", resync_period=0.05)
    updates = []
    inf.add_handler(on_update=lambda old, new: updates.append((old is new,
                                                                new["metadata"]["name"])))
    running(inf, api)
    wait_until(lambda: len(updates) >= 2, 5, what="two resyncs")
    assert set(updates) == {(True, "a")}


def test_a_relist_never_replaces_a_newer_cached_object():
    """The node agent lists on every pass while the watch runs: a list that
    the watch overtook must not turn the cache back."""
    api = FakeApi()
    inf = Informer(api, "services")
    api.put("services", obj("a"))
    stale = api.list("services")
    inf.apply_event("MODIFIED", api.put("services", obj("a", spec={"v": 2})))
    inf.apply_event("ADDED", api.put("services", obj("b")))
    api.list = lambda *a, **kw: stale  # type: ignore[method-assign]
    inf.relist()
    assert names(inf) == {"a", "b"} and inf.get("default/a")["spec"] == {"v": 2}


def test_a_stale_list_from_a_cache_older_than_the_watch_is_taken_again_consistently():
    """With ``stale_list`` the informer lists at resourceVersion=0 (a master's
    watch cache); an answer from behind a deletion it already watched would bring
    the object back, so it lists again, consistently."""
    api = FakeApi()
    inf = Informer(api, "services", stale_list=True)
    api.put("services", obj("a"))
    lagging = api.list("services")
    asked: list[str | None] = []

    def listing(kind, namespace=None, resource_version=None, **_):
        asked.append(resource_version)
        return lagging if resource_version == "0" else FakeApi.list(api, kind, namespace)
    api.list = listing  # type: ignore[method-assign]
    inf.relist()
    assert asked == ["0"] and names(inf) == {"a"}, "a fresh cache takes the cached list"
    api.delete("services", "default", "a")
    rv = FakeApi.list(api, "services")["metadata"]["resourceVersion"]
    inf.apply_event("DELETED", {"metadata": {**obj("a")["metadata"], "resourceVersion": rv}})
    inf.relist()
    assert asked == ["0", "0", None]
    assert names(inf) == set(), "the watched deletion stands"
    inf.relist(consistent=True)
    assert asked[-1] is None


def test_a_handler_error_does_not_stop_the_feed():
    inf = Informer(FakeApi(), "services")
    seen = []
    inf.add_handler(on_add=lambda o: 1 / 0)
    inf.add_handler(on_add=lambda o: seen.append(o["metadata"]["name"]))
    inf.apply_event("ADDED", {**obj("a"), "metadata": {**obj("a")["metadata"],
                                                       "resourceVersion": "1"}})
    assert seen == ["a"]


def test_stop_ends_a_quiet_watch_promptly(running):
    api = FakeApi()
    inf = Informer(api, "services")
    inf.start()
    assert inf.wait_for_sync(5)
    inf.stop()
    inf.join(2)  # far below the quiet watch's own timeout: stop must cut it short
    assert not inf.thread.is_alive()
    api.close()


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


def test_workqueue_throttle_folds_adds_into_one_hand_out_per_interval():
    from master.controllers.testing import FakeClock

    clock = FakeClock(100.0)
    q = WorkQueue(clock=clock.monotonic, throttle=0.5)
    q.add("k")
    assert q.get(0) == "k"  # the first at once
    q.add("k")  # while processing: dirty
    q.done("k")  # done at 100.0: not handed out again before 100.5
    q.add("k")
    q.add("k")
    assert q.get(0) is None
    q.add("other")  # other keys are not held up
    assert q.get(0) == "other"
    q.done("other")
    clock.advance(0.4)
    assert q.get(0) is None
    clock.advance(0.1)
    assert q.get(0) == "k"  # once: the adds folded into one
    assert q.get(0) is None
    q.done("k")
    clock.advance(1.0)
    q.add("k")  # quiet for longer than the throttle: at once
    assert q.get(0) == "k"
    q.done("k")
    q.add_after("k", 0.1)  # a delayed add is held to the throttle too
    clock.advance(0.1)
    assert q.get(0) is None
    clock.advance(0.4)
    assert q.get(0) == "k"
    q.done("k")
    assert q.get(0) is None


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


def test_an_idle_worker_sleeps_until_a_key_and_its_stop_event_wakes_it():
    q = WorkQueue()
    handled: list[str] = []
    waits = 0
    wait = q._cond.wait

    def counted_wait(timeout=None):
        nonlocal waits
        waits += 1
        return wait(timeout)

    q._cond.wait = counted_wait  # type: ignore[method-assign]
    stop = StopEvent()
    t = threading.Thread(target=q.work, args=(handled.append, stop))
    t.start()
    q.add("a")
    wait_until(lambda: handled == ["a"], 5, what="the key handled")
    idle_from = waits
    threading.Event().wait(0.3)  # idle: a polling worker would wake several times meanwhile
    assert waits - idle_from <= 1
    stop.set()  # no shutdown: the stop event alone wakes it
    t.join(1)
    assert not t.is_alive()
    q.add("b")
    assert handled == ["a"]


def test_a_worker_on_a_plain_event_sees_it_set_within_its_poll():
    q = WorkQueue()
    stop = threading.Event()
    t = threading.Thread(target=q.work, args=(lambda k: None, stop, 0.05))
    t.start()
    stop.set()
    t.join(1)
    assert not t.is_alive()
