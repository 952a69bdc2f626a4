"""The replicated state machine, applied directly: no network, no clock."""

import pickle

import pytest

from raftstore import commands as C
from raftstore.errors import (
    Compacted,
    CompareFailed,
    InvalidArgument,
    KeyNotFound,
    LeaseNotFound,
    QuotaExceeded,
)
from raftstore.mvcc import MVCCState
from raftstore.types import Compare, Op, TxnResult

LIMITS = (10**9, 1000, 3600.0)


def apply(state, cmd, ts=1000.0, limits=LIMITS):
    return state.apply(C.batch([cmd], ts, limits))[0]


def test_every_change_bumps_the_global_revision_and_key_versions():
    s = MVCCState()
    a1 = apply(s, C.put("/a", {"n": 1}))
    b1 = apply(s, C.put("/b", {"n": 1}))
    a2 = apply(s, C.put("/a", {"n": 2}))
    assert (a1.create_revision, a1.mod_revision, a1.version) == (1, 1, 1)
    assert b1.mod_revision == 2
    assert (a2.create_revision, a2.mod_revision, a2.version) == (1, 3, 2)
    assert s.revision == 3
    gone = apply(s, C.delete("/a"))
    assert gone.value == {"n": 2} and s.revision == 4 and s.get("/a") is None
    a3 = apply(s, C.put("/a", {}))
    assert (a3.create_revision, a3.version) == (5, 1)  # a new life starts afresh


def test_values_are_copies_the_caller_cannot_corrupt():
    s = MVCCState()
    apply(s, C.put("/a", {"list": [1]}))
    s.get("/a").value["list"].append(2)
    assert s.get("/a").value == {"list": [1]}


def test_compare_and_swap_on_mod_revision():
    s = MVCCState()
    assert isinstance(apply(s, C.put("/a", {}, expect_mod_revision=0)), object)
    conflict = apply(s, C.put("/a", {"x": 1}, expect_mod_revision=0))
    assert isinstance(conflict, CompareFailed) and conflict.current.mod_revision == 1
    ok = apply(s, C.put("/a", {"x": 1}, expect_mod_revision=1))
    assert ok.mod_revision == 2
    stale = apply(s, C.put("/a", {"x": 2}, expect_mod_revision=1))
    assert isinstance(stale, CompareFailed) and s.get("/a").value == {"x": 1}
    assert isinstance(apply(s, C.delete("/a", expect_mod_revision=1)), CompareFailed)
    assert apply(s, C.delete("/a", expect_mod_revision=2)).key == "/a"
    assert isinstance(apply(s, C.delete("/a")), KeyNotFound)
    assert isinstance(apply(s, C.put("/b", {}, expect_mod_revision=7)), CompareFailed)
    assert s.revision == 3  # failed commands changed nothing


def test_range_by_prefix_is_sorted_and_pages_with_a_continue_token():
    s = MVCCState()
    for name in ["c", "a", "b", "d"]:
        apply(s, C.put(f"/pods/{name}", {"name": name}))
    apply(s, C.put("/podsx", {}))
    apply(s, C.put("/nodes/n1", {}))
    page1 = s.range("/pods/", limit=3)
    assert [kv.key for kv in page1.kvs] == ["/pods/a", "/pods/b", "/pods/c"] and page1.more
    page2 = s.range("/pods/", limit=3, start_after=page1.kvs[-1].key)
    assert [kv.key for kv in page2.kvs] == ["/pods/d"] and not page2.more
    assert page1.revision == s.revision == 6
    assert len(s.range("").kvs) == 6


def test_delete_prefix_is_one_revision():
    s = MVCCState()
    for i in range(3):
        apply(s, C.put(f"/x/{i}", {}))
    apply(s, C.put("/y", {}))
    assert apply(s, C.delete_prefix("/x/")) == 3
    assert s.revision == 5 and [kv.key for kv in s.range("/").kvs] == ["/y"]
    assert apply(s, C.delete_prefix("/x/")) == 0 and s.revision == 5


def test_txn_takes_success_or_failure_branch_atomically_at_one_revision():
    s = MVCCState()
    apply(s, C.put("/a", {"v": 1}))
    r = apply(s, C.txn([Compare("/a", "mod_revision", "==", 1), Compare("/b", "exists", "==", False)],
                       [Op.put("/b", {"v": 2}), Op.put("/c", {}), Op.get("/a")], []))
    assert isinstance(r, TxnResult) and r.succeeded and r.revision == 2
    assert r.results[0].mod_revision == r.results[1].mod_revision == 2
    assert r.results[2].value == {"v": 1}
    r = apply(s, C.txn([Compare("/a", "version", ">", 5)], [Op.delete("/a")],
                       [Op.delete("/c"), Op.get("/missing")]))
    assert not r.succeeded and r.results[0].key == "/c" and r.results[1] is None
    assert s.get("/a") is not None and s.get("/c") is None and s.revision == 3


def test_txn_with_unknown_lease_applies_nothing():
    s = MVCCState()
    r = apply(s, C.txn([], [Op.put("/a", {}), Op.put("/b", {}, lease=99)], []))
    assert isinstance(r, LeaseNotFound) and s.get("/a") is None and s.revision == 0


def test_bad_requests_are_refused_before_the_log_with_a_named_error():
    with pytest.raises(InvalidArgument, match="key"):
        C.put("", {})
    with pytest.raises(InvalidArgument, match="JSON object"):
        C.put("/a", [1])
    with pytest.raises(InvalidArgument, match="serialisable"):
        C.put("/a", {"x": object()})
    with pytest.raises(InvalidArgument, match="TTL"):
        C.lease_grant(0)
    with pytest.raises(InvalidArgument, match="compare target"):
        C.txn([Compare("/a", "colour", "==", 1)], [], [])


def test_attaching_a_key_to_a_lease_does_not_copy_its_key_set():
    # one set per lease, changed in place: a copy per put cost O(keys on the lease)
    s = MVCCState()
    lid = apply(s, C.lease_grant(10))
    keys = s.leases[lid].keys
    for i in range(3):
        apply(s, C.put(f"/e/{i}", {}, lease=lid))
    apply(s, C.delete("/e/0"))
    assert s.leases[lid].keys is keys and keys == {"/e/1", "/e/2"}


def test_a_snapshot_with_frozen_lease_key_sets_still_restores():
    s = MVCCState()
    lid = apply(s, C.lease_grant(10))
    apply(s, C.put("/e/1", {}, lease=lid))
    s.leases[lid] = s.leases[lid]._replace(keys=frozenset(s.leases[lid].keys))  # the old form
    restored = pickle.loads(pickle.dumps(s))
    apply(restored, C.put("/e/2", {}, lease=lid))
    assert apply(restored, C.lease_revoke(lid)) == 2


def test_lease_revoke_and_expire_delete_attached_keys():
    s = MVCCState()
    lid = apply(s, C.lease_grant(10))
    other = apply(s, C.lease_grant(10))
    apply(s, C.put("/l/1", {}, lease=lid))
    apply(s, C.put("/l/2", {}, lease=lid))
    apply(s, C.put("/l/2", {}, lease=other))  # moved to another lease
    apply(s, C.put("/free", {}))
    assert apply(s, C.lease_keepalive(lid)) == 10
    assert apply(s, C.lease_expire(lid)) == 1
    assert s.get("/l/1") is None and s.get("/l/2") is not None
    assert isinstance(apply(s, C.lease_keepalive(lid)), LeaseNotFound)
    assert isinstance(apply(s, C.put("/x", {}, lease=lid)), LeaseNotFound)
    assert apply(s, C.lease_revoke(other)) == 1 and s.get("/l/2") is None
    assert isinstance(apply(s, C.lease_revoke(other)), LeaseNotFound)


def test_watch_history_replays_puts_and_deletes_with_previous_values():
    s = MVCCState()
    apply(s, C.put("/a", {"v": 1}))
    apply(s, C.put("/b", {"v": 1}))
    apply(s, C.put("/a", {"v": 2}))
    apply(s, C.delete("/a"))
    hist = s.history_from("/a", 2)
    assert [(h.type, h.revision) for h in hist] == [("PUT", 3), ("DELETE", 4)]
    assert hist[0].prev.raw == '{"v":1}'
    assert hist[1].rec.mod_revision == 4 and hist[1].rec.raw == '{"v":2}'


def test_explicit_compaction_makes_old_watches_fail_with_compacted():
    s = MVCCState()
    for i in range(5):
        apply(s, C.put("/a", {"i": i}))
    assert apply(s, C.compact(3)) == 3
    with pytest.raises(Compacted) as e:
        s.history_from("/a", 3)
    assert e.value.compact_revision == 3
    assert [h.revision for h in s.history_from("/a", 4)] == [4, 5]
    assert isinstance(apply(s, C.compact(2)), Compacted)
    assert isinstance(apply(s, C.compact(99)), InvalidArgument)


def test_history_is_compacted_by_count_and_by_age_using_the_command_time():
    s = MVCCState()
    for i in range(10):
        apply(s, C.put("/a", {"i": i}), ts=100.0 + i, limits=(10**9, 4, 3600.0))
    assert [h.revision for h in s.history] == [7, 8, 9, 10] and s.compact_revision == 6
    apply(s, C.put("/a", {}), ts=2000.0, limits=(10**9, 100, 60.0))
    assert [h.revision for h in s.history] == [11] and s.compact_revision == 10


def test_quota_refuses_puts_but_deletes_and_compaction_still_work():
    s = MVCCState()
    limits = (90, 1000, 3600.0)
    assert apply(s, C.put("/a", {"x": "y" * 40}), limits=limits).version == 1
    err = apply(s, C.put("/b", {"x": "y" * 40}), limits=limits)
    assert isinstance(err, QuotaExceeded) and "quota 90" in str(err)
    assert apply(s, C.delete("/a"), limits=limits).key == "/a"
    apply(s, C.compact(s.revision), limits=limits)
    assert apply(s, C.put("/b", {"x": "y" * 40}), limits=limits).key == "/b"


QUOTA = (1000, 100_000, 3600.0)


def fill(s: MVCCState) -> int:
    """Puts ~100-byte objects until the quota refuses one; returns how many fit."""
    n = 0
    while not isinstance(apply(s, C.put(f"/fill/{n:03}", {"x": "y" * 80}), limits=QUOTA),
                         QuotaExceeded):
        n += 1
    return n


def test_a_full_store_recovers_once_objects_are_deleted_without_manual_steps():
    """Issue 9: deletes moved bytes into history and the quota counted history,
    so a full store stayed full until history aged out (an hour)."""
    s = MVCCState()
    n = fill(s)
    assert s.alarms == ["NOSPACE"]
    # a heartbeat rewriting an object at the same size or a little larger, and
    # deletes, pass at the quota
    assert apply(s, C.put("/fill/000", {"x": "z" * 80}), limits=QUOTA).version == 2
    assert apply(s, C.put("/fill/001", {"x": "z" * 81}), limits=QUOTA).version == 2
    assert isinstance(apply(s, C.put("/fill/002", {"x": "z" * 400}), limits=QUOTA),
                      QuotaExceeded)  # a large growth is no heartbeat
    for i in range(n // 2):
        assert apply(s, C.delete(f"/fill/{i:03}"), limits=QUOTA).key == f"/fill/{i:03}"
    assert s.alarms == []  # cleared by itself
    assert s.db_size <= QUOTA[0]  # history was compacted to make room
    for i in range(n // 3):
        assert apply(s, C.put(f"/new/{i}", {"x": "y" * 80}), limits=QUOTA).version == 1


def test_history_never_fills_the_quota_it_is_compacted_first():
    s = MVCCState()
    for i in range(200):  # 200 rewrites of one key: ~20 KB of history, quota 1000
        assert apply(s, C.put("/k", {"i": i, "x": "y" * 80}), limits=QUOTA).version == i + 1
    assert s.db_size <= QUOTA[0] and s.compact_revision > 0 and s.alarms == []


def test_a_txn_is_refused_only_when_it_grows_live_data_past_the_quota():
    s = MVCCState()
    n = fill(s)
    grow = C.txn([], [Op.put("/fill/000", {"x": "y" * 80}), Op.put("/more", {"x": "y" * 80})], [])
    assert isinstance(apply(s, grow, limits=QUOTA), QuotaExceeded)
    same = C.txn([], [Op.put("/fill/001", {"x": "q" * 80}), Op.delete(f"/fill/{n - 1:03}")], [])
    assert apply(s, same, limits=QUOTA).succeeded


def test_the_alarm_survives_a_snapshot_and_old_snapshots_load_without_it():
    s = MVCCState()
    fill(s)
    assert pickle.loads(pickle.dumps(s)).alarms == ["NOSPACE"]
    state = s.__getstate__()
    del state["nospace"]
    old = MVCCState.__new__(MVCCState)
    old.__setstate__(state)
    assert old.alarms == []


def test_a_retried_request_returns_its_first_result_without_applying_twice():
    s = MVCCState()
    cmd = C.put("/a", {"n": 1})
    cmd["rid"] = "req-1"
    first = apply(s, cmd)
    again = apply(s, dict(cmd))
    assert again == first and s.revision == 1 and s.get("/a").version == 1


def test_same_log_gives_same_state_and_snapshot_round_trips():
    log = [C.put("/a", {"n": 1}), C.lease_grant(5), C.put("/b", {}, lease=1),
           C.txn([Compare("/a", "version", "==", 1)], [Op.delete_prefix("/")], []),
           C.put("/c", {}), C.compact(2)]
    s1, s2 = MVCCState(), MVCCState()
    for i, cmd in enumerate(log):
        apply(s1, cmd, ts=float(i))
        apply(s2, dict(cmd), ts=float(i))
    restored = pickle.loads(pickle.dumps(s1))
    for s in (s2, restored):
        assert s.__getstate__() == s1.__getstate__()
    assert apply(restored, C.put("/d", {})).mod_revision == s1.revision + 1


def test_errors_survive_pickling_in_the_request_table():
    s = MVCCState()
    apply(s, C.put("/a", {}))
    bad = C.put("/a", {}, expect_mod_revision=0)
    bad["rid"] = "r"
    apply(s, bad)
    restored = pickle.loads(pickle.dumps(s))
    err = restored.requests["r"]
    assert isinstance(err, CompareFailed) and err.current.key == "/a"
