"""Group commit and the leader's lease clock, with fake proposers and clocks."""

import pytest

from raftstore import commands as C
from raftstore.errors import InvalidArgument
from raftstore.groupcommit import GroupCommit
from raftstore.leases import LeaseClock
from raftstore.types import Op


class FakeLog:
    def __init__(self) -> None:
        self.entries: list[tuple[list[dict], object]] = []

    def propose(self, cmds, callback) -> None:
        self.entries.append((cmds, callback))

    def commit(self, i: int = 0, failure: int = 0) -> None:
        cmds, cb = self.entries.pop(i)
        cb([c["n"] for c in cmds] if not failure else None, failure)


def test_waiting_commands_share_one_entry_once_a_slot_frees():
    log = FakeLog()
    gc = GroupCommit(log.propose, max_batch=100, max_inflight=1)
    first = gc.submit({"n": 0})
    rest = [gc.submit({"n": i}) for i in range(1, 6)]
    assert len(log.entries) == 1  # the others wait for the slot
    log.commit()
    assert first.resolved and first.result == 0
    assert len(log.entries) == 1 and [c["n"] for c in log.entries[0][0]] == [1, 2, 3, 4, 5]
    log.commit()
    assert [p.result for p in rest] == [1, 2, 3, 4, 5] and gc.entries == 2


def test_a_failed_entry_fails_each_of_its_commands_for_retry():
    log = FakeLog()
    gc = GroupCommit(log.propose, max_inflight=2)
    a, b = gc.submit({"n": 1}), gc.submit({"n": 2})
    log.commit(0, failure=5)
    assert a.failure == 5 and a.result is None and not b.resolved


def test_a_lost_entry_stops_holding_its_slot_after_a_while():
    now = [0.0]
    log = FakeLog()
    gc = GroupCommit(log.propose, max_inflight=1, stale_after=1.0, clock=lambda: now[0])
    gc.submit({"n": 1})
    gc.submit({"n": 2})
    assert len(log.entries) == 1
    now[0] = 2.0
    gc.flush()
    assert len(log.entries) == 2  # the first one never answered; the second went anyway


def test_batches_are_capped():
    log = FakeLog()
    gc = GroupCommit(log.propose, max_batch=2, max_inflight=1)
    for i in range(5):
        gc.submit({"n": i})
    log.commit()
    assert len(log.entries[0][0]) == 2


def test_lease_clock_expires_once_and_restarts_on_new_leadership():
    now = [100.0]
    lc = LeaseClock(lambda: now[0])
    lc.on_applied(C.lease_grant(10), 7)
    now[0] = 109.0
    lc.on_applied(C.lease_keepalive(7), 10)
    now[0] = 118.9
    assert lc.due() == []
    now[0] = 119.0
    assert lc.due() == [7] and lc.due() == []  # proposed once...
    now[0] = 120.5
    assert lc.due() == [7]  # ...and again if that proposal was lost
    lc.reset([(7, 10)])  # a new leader gives every lease a full TTL
    assert lc.due() == [] and lc.remaining(7) == 10
    lc.on_applied(C.lease_expire(7), 1)
    assert lc.remaining(7) is None



def test_an_entry_holds_at_most_max_bytes_or_one_command():
    """Entry size bounds the Raft port's frame limit (peerguard.MAX_FRAME_BYTES)."""
    log = FakeLog()
    gc = GroupCommit(log.propose, max_batch=100, max_inflight=1, max_bytes=250)
    gc.submit(C.barrier())  # takes the slot; the rest wait
    for i in range(3):
        gc.submit(C.put(f"k{i}", {"v": "x" * 100}))
    gc.submit(C.put("big", {"v": "x" * 400}))
    sizes = []
    while log.entries:
        cmds, cb = log.entries.pop(0)
        sizes.append([C.command_bytes(c) for c in cmds])
        cb([None] * len(cmds), 0)
    assert sizes[1:] == [[110, 110], [110], [411]]


def test_a_txn_larger_than_max_command_bytes_is_refused():
    big = {"v": "x" * (C.MAX_VALUE_BYTES - 100)}
    ops = [Op.put(f"k{i}", big) for i in range(C.MAX_COMMAND_BYTES // C.MAX_VALUE_BYTES + 1)]
    with pytest.raises(InvalidArgument, match="larger than 4194304 bytes"):
        C.txn([], ops, [])


def test_commands_are_counted_by_the_resource_they_write():
    log = FakeLog()
    gc = GroupCommit(log.propose, max_inflight=8)
    gc.submit(C.put("/registry/pods/default/a", {}))
    gc.submit(C.put("/registry/pods/default/b", {}))
    gc.submit(C.delete("/registry/events/default/e"))
    gc.submit(C.txn([], [Op.put("/registry/leases/kube-node-lease/n", {})], []))
    gc.submit(C.barrier())
    gc.submit(C.put("/other/x", {}))
    assert gc.by_resource == {"pods": 2, "events": 1, "leases": 1, "noop": 1, "other": 1}
