"""RaftStore as the master embeds it: three stores in one process on loopback."""

from __future__ import annotations

import time

import pytest

from raftstore import RaftStore, StoreConfig
from raftstore.errors import CompareFailed, Unavailable
from raftstore.journal import DurableJournal
from raftstore.types import Compare, Op
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def stores(tmp_path):
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    events: list[tuple[str, bool]] = []  # appended from the stores' Raft threads
    out = []
    for i, a in enumerate(addrs):
        s = RaftStore(StoreConfig(self_addr=a, peers=[p for p in addrs if p != a],
                                  data_dir=str(tmp_path / f"s{i}"), secret="in-process-secret"))
        s.add_leadership_listener(lambda led, a=a: events.append((a, led)))
        out.append(s)
    yield out, events
    for s in out:
        s.close()


def test_api_through_raft_with_leadership_and_watch(stores):
    stores, events = stores
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                        what="a leader")
    assert events and events[0] == (leader.config.self_addr, True)
    follower = next(s for s in stores if s is not leader)
    w = follower.watch("/api/", start_revision=1)
    kv = follower.put("/api/a", {"n": 1}, expect_mod_revision=0)
    with pytest.raises(CompareFailed):
        leader.put("/api/a", {"n": 2}, expect_mod_revision=0)
    r = leader.txn([Compare("/api/a", "mod_revision", "==", kv.mod_revision)],
                   [Op.put("/api/b", {}), Op.delete("/api/a")])
    assert r.succeeded
    got = [w.get(5) for _ in range(3)]
    assert [(e.type, e.kv.key) for e in got] == [("PUT", "/api/a"), ("PUT", "/api/b"),
                                                 ("DELETE", "/api/a")]
    for s in stores:
        assert [x.key for x in s.range("/api/").kvs] == ["/api/b"]
    st = follower.status()
    assert st["role"] == "follower" and st["leader"] == leader.config.self_addr
    assert st["applied_index"] >= 1 and all(p["connected"] for p in st["peers"])
    w.close()


def test_a_closed_store_refuses_writes_clearly(stores):
    stores, _ = stores
    s = stores[0]
    s.close()
    with pytest.raises(Unavailable, match="closed") as e:
        s.put("/x", {})
    assert not e.value.outcome_unknown  # refused before proposing: safe to send elsewhere


def test_an_acknowledged_write_is_on_disk_on_a_majority(stores):
    """Raft's rule, which pysyncobj alone does not keep: a follower syncs an
    entry before it acknowledges it, and the leader syncs it before counting
    itself toward its commit, so an acknowledged write survives a power cut of
    every replica. Checked at the moment of each acknowledgement and commit."""
    stores, _ = stores
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                        what="a leader")
    journals = {s.config.self_addr: s._raft._SyncObj__raftLog for s in stores}
    assert all(isinstance(j, DurableJournal) for j in journals.values())
    early: list[str] = []  # an acknowledgement or commit ahead of the disk
    acks = []
    for s in stores:
        journal, transport = journals[s.config.self_addr], s._raft._SyncObj__transport
        send, set_commit = transport.send, journal._inner.setRaftCommitIndex

        def checked_send(node, message, send=send, journal=journal):
            if isinstance(message, dict) and message.get("type") == "next_node_idx" \
                    and message.get("success"):
                acks.append(message["next_node_idx"] - 1)
                if journal.synced_index < message["next_node_idx"] - 1:
                    early.append(f"ack of {message['next_node_idx'] - 1} at "
                                 f"{journal.synced_index}")
            return send(node, message)

        def checked_commit(index, s=s, set_commit=set_commit, journal=journal):
            if s.is_leader() and journal.synced_index < index:
                early.append(f"leader commit {index} at {journal.synced_index}")
            return set_commit(index)

        transport.send = checked_send
        journal._inner.setRaftCommitIndex = checked_commit
    for n in range(20):
        leader.put(f"/durable/{n}", {"n": n})
        index = leader.status()["commit_index"]
        on_disk = [a for a, j in journals.items() if j.synced_index >= index]
        assert leader.config.self_addr in on_disk and len(on_disk) >= 2, (index, on_disk)
    assert acks and not early, early


def test_without_fsync_the_journal_is_pysyncobjs_own(tmp_path):
    s = RaftStore(StoreConfig(self_addr=f"127.0.0.1:{free_port()}", data_dir=str(tmp_path),
                              secret="x", fsync=False))
    try:
        assert not isinstance(s._raft._SyncObj__raftLog, DurableJournal)
    finally:
        s.close()



def test_a_follower_stalled_past_its_election_timeout_does_not_depose_the_leader(tmp_path):
    """A follower's Raft thread blocked longer than its election timeout (a
    slow disk sync before an acknowledgement) reads the leader's heartbeats,
    which arrived meanwhile, before it checks its election deadline. (A stall
    past the connection timeout still costs the connections: pysyncobj drops
    one that read nothing for that long.)"""
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stores = [RaftStore(StoreConfig(self_addr=a, peers=[p for p in addrs if p != a],
                                    data_dir=str(tmp_path / f"s{i}"), secret="x",
                                    connection_timeout=4.0))
              for i, a in enumerate(addrs)]
    try:
        leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                            what="a leader")
        follower = next(s for s in stores if s is not leader)
        journal = follower._raft._SyncObj__raftLog
        real_sync, stalled = journal.sync, []

        def slow_sync() -> None:
            if journal.dirty and not stalled:
                stalled.append(True)
                time.sleep(2 * follower.config.election_timeout_max)
            real_sync()

        journal.sync = slow_sync
        term = leader.status()["term"]
        leader.put("/stall/a", {})
        wait_until(lambda: stalled, 5, what="the follower's stalled sync")
        time.sleep(3 * follower.config.election_timeout_max)  # the stall, then time to elect
        terms = [s.status()["term"] for s in stores]
        assert leader.is_leader() and terms == [term] * 3, (term, terms)
    finally:
        for s in stores:
            s.close()


@pytest.fixture
def slow_heartbeat_stores(tmp_path):
    """Heartbeats a second apart: whatever reaches a follower sooner came with an entry
    or a commit notification."""
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    out = [RaftStore(StoreConfig(self_addr=a, peers=[p for p in addrs if p != a],
                                 data_dir=str(tmp_path / f"s{i}"), secret="in-process-secret",
                                 heartbeat_period=1.0, election_timeout_min=3.2,
                                 election_timeout_max=3.5, leader_fallback_timeout=3.5,
                                 connection_timeout=4.0))
           for i, a in enumerate(addrs)]
    yield out
    for s in out:
        s.close()


def test_followers_learn_a_commit_without_waiting_for_a_heartbeat(slow_heartbeat_stores):
    stores = slow_heartbeat_stores
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 20,
                        what="a leader")
    followers = [s for s in stores if s is not leader]
    # a follower's own write, and its linearizable read, wait for the commit at once
    writes = []
    for i, f in enumerate(followers):
        t0 = time.monotonic()
        f.put(f"/k/f{i}", {"n": i}, expect_mod_revision=0)
        assert f.get(f"/k/f{i}") is not None
        writes.append(time.monotonic() - t0)
    assert max(writes) < 0.8, writes  # a heartbeat is 1 s away
    # the leader's last write: the followers hear of its commit soon, not at the heartbeat
    leader.put("/k/last", {"n": 1}, expect_mod_revision=0)
    for f in followers:
        wait_until(lambda f=f: f.get("/k/last", linearizable=False) is not None, 0.8,
                   what="the commit on a follower")


def test_a_raft_port_held_by_another_process_is_a_clear_start_error(tmp_path):
    import socket
    import subprocess
    import sys

    from raftstore.errors import CannotListen
    from raftstore.replica import BIND_ATTEMPTS, BIND_RETRY_SECONDS

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        addr = f"127.0.0.1:{holder.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(CannotListen, match=f"cannot listen for Raft peers on {addr}"):
            RaftStore(StoreConfig(self_addr=addr, peers=[f"127.0.0.1:{free_port()}"],
                                  data_dir=str(tmp_path / "s"), secret="in-process-secret"))
        # it gave up after its attempts, not at the first refusal
        assert time.monotonic() - started >= (BIND_ATTEMPTS - 2) * BIND_RETRY_SECONDS
        secret = tmp_path / "secret"
        secret.write_text("in-process-secret")
        proc = subprocess.run(
            [sys.executable, "-m", "raftstore", "--self", addr,
             "--peers", f"127.0.0.1:{free_port()}", "--http", f"127.0.0.1:{free_port()}",
             "--data-dir", str(tmp_path / "p"), "--secret-file", str(secret)],
            capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert f"raftstore: cannot listen for Raft peers on {addr}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_put_async_awaits_the_commit_on_an_event_loop(stores):
    """The API's creates on its event loop: the commit wakes the loop, no thread waits."""
    import asyncio

    from raftstore.nonblocking import WouldBlock, nonblocking

    stores, _ = stores
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                        what="a leader")
    follower = next(s for s in stores if s is not leader)

    async def main() -> list:
        with nonblocking():
            with pytest.raises(WouldBlock):
                follower.put("/async/blocked", {})  # a thread-style write is refused here
            made = await asyncio.gather(*(
                s.put_async(f"/async/{i}", {"n": i}, expect_mod_revision=0)
                for i, s in enumerate([leader, follower] * 10)))
            with pytest.raises(CompareFailed):
                await follower.put_async("/async/0", {"n": 0}, expect_mod_revision=0)
        return made

    made = asyncio.run(asyncio.wait_for(main(), 30))
    assert sorted(kv.value["n"] for kv in made) == list(range(20))
    assert len({kv.mod_revision for kv in made}) == 20
    for s in stores:
        wait_until(lambda s=s: len(s.range("/async/", linearizable=False).kvs) == 20, 10,
                   what="every write on every replica")
    assert leader.get("/async/blocked") is None  # refused before it was proposed


def test_put_async_without_a_quorum_is_unavailable_with_its_outcome_unknown(stores):
    import asyncio

    stores, _ = stores
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                        what="a leader")
    for s in stores:
        if s is not leader:
            s.close()
    wait_until(lambda: not any(p["connected"] for p in leader.status()["peers"]), 10,
               what="the leader cut off from both followers")
    leader.config.write_timeout = 1.0

    async def main() -> None:
        with pytest.raises(Unavailable) as e:
            await leader.put_async("/async/lost", {})
        assert e.value.outcome_unknown

    asyncio.run(asyncio.wait_for(main(), 30))
    leader.close()

    async def closed() -> None:
        with pytest.raises(Unavailable, match="closed") as e:
            await leader.put_async("/async/closed", {})
        assert not e.value.outcome_unknown

    asyncio.run(closed())
