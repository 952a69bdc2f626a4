"""MemoryStore: the public API, watches and lease expiry on an injected clock."""

import threading

import pytest

from raftstore import MemoryStore, StoreConfig
from raftstore.errors import Compacted, CompareFailed, KeyNotFound, LeaseNotFound, QuotaExceeded
from raftstore.types import Compare, Op


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store():
    s = MemoryStore()
    yield s
    s.close()


def test_put_get_delete_cas(store):
    kv = store.put("/a", {"x": 1}, expect_mod_revision=0)
    with pytest.raises(CompareFailed) as e:
        store.put("/a", {"x": 2}, expect_mod_revision=0)
    assert e.value.current == kv
    assert store.get("/a").value == {"x": 1}
    assert store.get("/a", linearizable=False) == kv
    assert store.delete("/a").value == {"x": 1}
    with pytest.raises(KeyNotFound):
        store.delete("/a")
    assert store.revision() == 2


def test_txn_and_delete_prefix(store):
    store.put("/p/1", {})
    r = store.txn([Compare("/p/1", "exists", "==", True)], [Op.put("/p/2", {})], [])
    assert r.succeeded
    assert store.delete_prefix("/p/") == 2
    assert store.range("/p/").kvs == []


def test_watch_replays_then_streams_live_events(store):
    store.put("/w/a", {"n": 1})
    store.put("/other", {})
    with store.watch("/w/", start_revision=1) as w:
        assert w.get(1).kv.value == {"n": 1}
        store.put("/w/b", {"n": 2})
        store.delete("/w/a")
        ev = w.get(1)
        assert (ev.type, ev.kv.key, ev.revision) == ("PUT", "/w/b", 3)
        ev = w.get(1)
        assert ev.type == "DELETE" and ev.prev_kv.value == {"n": 1} and ev.kv.mod_revision == 4
        assert w.get(0.01) is None


def test_a_watcher_may_go_without_previous_values(store):
    """etcd's WithPrevKV: a watcher that keeps its own copy of each object
    (the master's caches) skips decoding the old value; a DELETE still
    carries the last value."""
    store.put("/w/a", {"n": 1})
    with store.watch("/w/", start_revision=1) as w, store.watch("/w/", start_revision=1) as full:
        w.prev_kv = False
        store.put("/w/a", {"n": 2})
        store.delete("/w/a")
        got = [w.get(1) for _ in range(3)]
        assert [(e.type, e.kv.value, e.prev_kv) for e in got] == [
            ("PUT", {"n": 1}, None), ("PUT", {"n": 2}, None), ("DELETE", {"n": 2}, None)]
        assert [e.prev_kv and e.prev_kv.value for e in (full.get(1) for _ in range(3))] == [
            None, {"n": 1}, {"n": 2}]


def test_each_watcher_owns_the_values_it_gets(store):
    """Watchers change their events' values in place (the master makes API
    objects of them): nobody else's copy may change with them."""
    store.put("/w/a", {"n": 1, "m": {"k": [1]}})
    with store.watch("/w/", start_revision=1) as replayed, store.watch("/w/") as w1, \
            store.watch("/w/") as w2:
        store.put("/w/a", {"n": 2, "m": {"k": [2]}})
        e1, e2 = w1.get(1), w2.get(1)
        e1.kv.value["m"]["k"].append("changed")
        e1.prev_kv.value["m"]["k"].append("changed")
        assert e2.kv.value == {"n": 2, "m": {"k": [2]}}
        assert e2.prev_kv.value == {"n": 1, "m": {"k": [1]}}
        assert replayed.get(1).kv.value == {"n": 1, "m": {"k": [1]}}
        assert replayed.get(1).kv.value == {"n": 2, "m": {"k": [2]}}
        assert store.get("/w/a").value == {"n": 2, "m": {"k": [2]}}
        with store.watch("/w/", start_revision=2) as later:
            assert later.get(1).kv.value == {"n": 2, "m": {"k": [2]}}


def test_watch_from_the_future_only_sees_new_events(store):
    store.put("/a", {})
    w = store.watch("/a")
    t = threading.Thread(target=lambda: store.put("/a", {"n": 2}))
    t.start()
    assert w.get(2).kv.value == {"n": 2}
    t.join()
    w.close()
    assert w.get(0.01) is None and list(w) == []


def test_watch_from_compacted_revision_fails_clearly(store):
    for i in range(4):
        store.put("/a", {"i": i})
    store.compact(3)
    with pytest.raises(Compacted, match="compacted") as e:
        store.watch("/a", start_revision=2)
    assert e.value.compact_revision == 3


def test_slow_watcher_is_closed_with_compacted_and_never_blocks_writes():
    s = MemoryStore(StoreConfig(watch_queue_size=5))
    w = s.watch("/")
    for i in range(10):
        s.put("/k", {"i": i})
    with pytest.raises(Compacted, match="fell more than 5 events behind"):
        w.get(0)
    s.close()


def test_leases_expire_on_the_clock_and_take_their_keys():
    clock = FakeClock()
    s = MemoryStore(clock=clock)
    lid = s.lease_grant(10)
    s.put("/lease/k", {}, lease=lid)
    clock.now = 8
    s.lease_keepalive(lid)
    clock.now = 17
    assert s.expire_leases() == []
    assert s.get("/lease/k") is not None
    clock.now = 18.5
    assert s.get("/lease/k") is None  # reads expire due leases first
    with pytest.raises(LeaseNotFound):
        s.lease_keepalive(lid)


def test_quota_error_is_clear():
    s = MemoryStore(StoreConfig(quota_bytes=100))
    with pytest.raises(QuotaExceeded, match="quota 100"):
        s.put("/big", {"x": "y" * 100})
    s.close()
