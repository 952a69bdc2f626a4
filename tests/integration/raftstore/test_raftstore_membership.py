"""Membership change on in-process stores over loopback: a new replica
catches up as a learner, becomes a member and votes; a removed one no longer
counts; the member list survives a restart; bad changes are refused."""

from __future__ import annotations

import threading

import pytest

from raftstore import RaftStore, StoreConfig
from raftstore.membership import ChangeInFlight, UnknownMember, WouldLoseQuorum, load_members
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
SECRET = "membership-secret"


def _start(addr: str, peers: list[str], data_dir: str, **kw) -> RaftStore:
    return RaftStore(StoreConfig(self_addr=addr, peers=[p for p in peers if p != addr],
                                 data_dir=data_dir, secret=SECRET, **kw))


def _leader(stores: list[RaftStore]) -> RaftStore:
    """A leader that is connected to every live replica: one can be elected by a
    majority before the last replica has connected, and a change made at once
    would then count that replica unreachable."""
    live = {s.config.self_addr for s in stores}  # the callers pass the live ones

    def ready() -> RaftStore | None:
        leader = next((s for s in stores if s.is_leader()), None)
        if leader is None:
            return None
        members = leader.membership.view()["members"]
        linked = all(m["connected"] for m in members
                     if m["id"] in live and m["id"] != leader.config.self_addr)
        return leader if linked else None

    return wait_until(ready, 10, what="a leader connected to every live replica")


def _dump(store: RaftStore) -> dict:
    return {kv.key: kv.value for kv in store.range("/", linearizable=True).kvs}


@pytest.fixture
def cluster(tmp_path):
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stores = [_start(a, addrs, str(tmp_path / f"s{i}"), snapshot_entries=50)
              for i, a in enumerate(addrs)]
    yield addrs, stores
    for s in stores:
        s.close()


def test_a_new_replica_catches_up_from_a_snapshot_then_votes(cluster, tmp_path):
    addrs, stores = cluster
    leader = _leader(stores)
    for n in range(200):  # several snapshots (every 50 entries): the log start is gone
        leader.put(f"/k/{n}", {"n": n})
    new_addr = f"127.0.0.1:{free_port()}"
    new = _start(new_addr, addrs, str(tmp_path / "s3"))
    stores.append(new)
    view = leader.membership.add(new_addr)
    assert sorted(m["id"] for m in view["members"]) == sorted([*addrs, new_addr])
    assert all(m["voter"] for m in view["members"])
    wait_until(lambda: new.status()["applied_index"] >= leader.status()["commit_index"], 10,
               what="the new replica applied everything")
    assert _dump(new) == _dump(leader)
    for s in stores:  # every replica knows the four members, and wrote them down
        wait_until(lambda s=s: len(s.status()["peers"]) == 3, 5, what="four members")
        assert sorted(load_members(s.config.data_dir) or []) == sorted([*addrs, new_addr])
    # it takes part: with the leader and one more gone, the new one is needed
    # for a majority of 4 (3), and writes go on
    others = [s for s in stores if s is not leader and s is not new]
    leader.close()
    survivor = _leader([new, *others])
    survivor.put("/after", {"ok": True})
    assert _dump(new)["/after"] == {"ok": True}


def test_removing_a_member_shrinks_the_quorum(cluster):
    addrs, stores = cluster
    leader = _leader(stores)
    leader.put("/before", {})
    gone = next(s for s in stores if s is not leader)
    view = leader.membership.remove(gone.config.self_addr)
    assert gone.config.self_addr not in [m["id"] for m in view["members"]]
    # the leader no longer sends it anything (pysyncobj drops it when the entry
    # is appended, so it never learns: its operator stops it)
    gone.close()
    third = next(s for s in stores if s is not leader and s is not gone)
    # two members now, both up: a majority of the new size
    leader.put("/two-members", {})
    assert _dump(third)["/two-members"] == {}


def test_bad_changes_are_refused_and_change_nothing(cluster):
    addrs, stores = cluster
    leader = _leader(stores)
    with pytest.raises(UnknownMember):
        leader.membership.remove("127.0.0.1:1")
    # one member down: removing another live one leaves 1 of 2 reachable
    down = next(s for s in stores if s is not leader)
    down.close()
    wait_until(lambda: not any(m["connected"] for m in leader.membership.view()["members"]
                               if m["id"] == down.config.self_addr), 5, what="seen down")
    live = next(s for s in stores if s is not leader and s is not down)
    with pytest.raises(WouldLoseQuorum):
        leader.membership.remove(live.config.self_addr)
    # a second change while one is in progress (an add whose learner never runs)
    failures: list[Exception] = []

    def first_change() -> None:
        try:
            leader.membership.add(f"127.0.0.1:{free_port()}", catch_up_timeout=3.0)
        except Exception as e:  # noqa: BLE001 - checked below
            failures.append(e)

    blocker = threading.Thread(target=first_change)
    blocker.start()
    wait_until(lambda: leader.membership._change.locked(), 5, what="the first change started")
    with pytest.raises(ChangeInFlight):
        leader.membership.remove(down.config.self_addr)
    blocker.join()
    assert [type(e).__name__ for e in failures] == ["NotCaughtUp"]
    assert sorted(m["id"] for m in leader.membership.view()["members"]) == sorted(addrs)


def test_a_restarted_replica_keeps_the_changed_membership(cluster, tmp_path):
    addrs, stores = cluster
    leader = _leader(stores)
    gone = next(s for s in stores if s is not leader)
    leader.membership.remove(gone.config.self_addr)
    gone.close()
    stores.remove(gone)
    i = next(i for i, s in enumerate(stores) if s is not leader)
    stores[i].close()
    # restarted with its original flags, which still name the removed replica
    stores[i] = _start(addrs[addrs.index(stores[i].config.self_addr)], addrs,
                       stores[i].config.data_dir)
    assert len(stores[i].status()["peers"]) == 1
    leader.put("/after-restart", {})
    assert _dump(stores[i])["/after-restart"] == {}
