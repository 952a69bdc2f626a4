"""A follower never truncates entries it already holds and committed.

pysyncobj 0.3.17 truncated the log after ``prevLogIdx`` on every
append_entries, so a late heartbeat or a re-sent append cut committed,
applied entries ("truncating already-applied log entries ... may have
diverged", issue 9). These tests drive one replica's message handler
directly, as a leader's messages would arrive."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from raftstore.appendcheck import plan_append
from raftstore.pysyncobj_import import SyncObjConf
from raftstore.replica import PipelinedSyncObj, StateMachine

NOOP = b"\x01"  # pysyncobj's no-op command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Follower:
    """One replica, ticked by hand, whose only peer (the 'leader') never runs:
    what it would send is written here directly into the handler."""

    def __init__(self) -> None:
        sm = StateMachine(lambda cmd: None, lambda state: None)
        conf = SyncObjConf(autoTick=False, appendEntriesUseBatch=False, raftMinTimeout=30,
                           raftMaxTimeout=60, connectionTimeout=60)
        self.obj = PipelinedSyncObj(f"127.0.0.1:{free_port()}", [f"127.0.0.1:{free_port()}"],
                                    conf=conf, consumers=[sm], fsync=False)
        self.leader = next(iter(self.obj._SyncObj__otherNodes))
        self.acks: list[tuple[int, bool, bool]] = []
        self.obj._SyncObj__transport.send = self._sent  # type: ignore[method-assign]

    def _sent(self, node: Any, message: dict) -> None:
        if message["type"] == "next_node_idx":
            self.acks.append((message["next_node_idx"], message["success"], message["reset"]))

    def append(self, prev: int, prev_term: int, entries: list[tuple[bytes, int, int]],
               commit: int, term: int = 1) -> None:
        self.obj._SyncObj__onMessageReceived(self.leader, {
            "type": "append_entries", "term": term, "commit_index": commit,
            "entries": entries, "prevLogIdx": prev, "prevLogTerm": prev_term})
        self.obj._send_acks()

    def tick(self) -> None:
        self.obj._onTick(0)

    def log(self) -> list[tuple[int, int]]:
        journal = self.obj._SyncObj__raftLog
        return [(journal[i][1], journal[i][2]) for i in range(len(journal))]

    @property
    def commit(self) -> int:
        return self.obj._SyncObj__raftCommitIndex

    @property
    def applied(self) -> int:
        return self.obj._SyncObj__raftLastApplied


def entries(first: int, last: int, term: int = 1) -> list[tuple[bytes, int, int]]:
    return [(NOOP, i, term) for i in range(first, last + 1)]


@pytest.fixture
def follower() -> Iterator[Follower]:
    f = Follower()
    yield f
    f.obj.destroy()


def applied_through_6(f: Follower) -> None:
    f.append(1, 0, entries(2, 6), commit=6)
    f.tick()
    assert (f.commit, f.applied) == (6, 6)
    f.acks.clear()


def test_a_late_heartbeat_does_not_truncate_applied_entries(follower: Follower,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    """The leader sent a heartbeat for prevLogIdx 3 before it sent 4..6 (its
    next index had been rewound by a stale reset reply); it arrives after."""
    applied_through_6(follower)
    with caplog.at_level(logging.CRITICAL):
        follower.append(3, 1, [], commit=6)
    assert follower.log() == [(i, 0 if i == 1 else 1) for i in range(1, 7)]
    assert follower.commit == 6
    assert "truncating already-applied" not in caplog.text
    # it vouches only for what the message covered (entries after may be another term's)
    assert follower.acks == [(4, True, False)]


def test_a_resent_append_keeps_the_entries_after_it(follower: Follower) -> None:
    applied_through_6(follower)
    follower.append(2, 1, entries(3, 4), commit=6)
    assert [i for i, _ in follower.log()] == [1, 2, 3, 4, 5, 6]
    assert follower.acks == [(5, True, False)]


def test_an_append_overlapping_the_end_adds_only_the_new_entries(follower: Follower) -> None:
    applied_through_6(follower)
    follower.append(4, 1, entries(5, 8), commit=6)
    assert [i for i, _ in follower.log()] == list(range(1, 9))
    assert follower.acks == [(9, True, False)]


def test_a_conflict_after_the_commit_index_truncates_from_the_conflict_only(
        follower: Follower) -> None:
    follower.append(1, 0, entries(2, 6), commit=3)  # 4..6 uncommitted, term 1
    follower.tick()
    follower.acks.clear()
    # a new leader of term 2 holds 4 (term 1) but replaced 5..
    follower.append(3, 1, [(NOOP, 4, 1), (NOOP, 5, 2)], commit=4, term=2)
    assert follower.log() == [(1, 0), (2, 1), (3, 1), (4, 1), (5, 2)]
    assert follower.acks == [(6, True, False)]


def test_an_append_contradicting_committed_entries_is_ignored(
        follower: Follower, caplog: pytest.LogCaptureFixture) -> None:
    applied_through_6(follower)
    with caplog.at_level(logging.ERROR):
        follower.append(3, 1, [(NOOP, 4, 2)], commit=6, term=2)
    assert [i for i, _ in follower.log()] == [1, 2, 3, 4, 5, 6]
    assert follower.commit == 6
    assert follower.acks == []
    assert "contradicts committed entry 4" in caplog.text


def test_a_large_entry_sent_in_pieces_is_checked_too(follower: Follower) -> None:
    """Entries over pysyncobj's batch size arrive as a transmission; the
    'finish' piece used to truncate like any append."""
    import pysyncobj.pickle as ppickle
    applied_through_6(follower)
    data = ppickle.dumps((NOOP, 4, 1))
    for kind, piece in (("start", data[:5]), ("finish", data[5:])):
        follower.obj._SyncObj__onMessageReceived(follower.leader, {
            "type": "append_entries", "transmission": kind, "data": piece, "term": 1,
            "commit_index": 6, "prevLogIdx": 3, "prevLogTerm": 1})
    follower.obj._send_acks()
    assert [i for i, _ in follower.log()] == [1, 2, 3, 4, 5, 6]
    assert follower.acks[-1] == (5, True, False)


def test_a_large_entry_whose_finish_is_announced_one_piece_early_is_assembled(
        follower: Follower) -> None:
    """pysyncobj's leader marks a piece 'finish' once it reaches the length of the
    entry's command rather than of its pickle (a few bytes longer), so an entry
    whose pickle runs just past a piece boundary gets two 'finish' pieces. The
    first is not the end: it used to be unpickled truncated, raising in the Raft
    thread on every later piece, and the follower never took another entry."""
    import pysyncobj.pickle as ppickle
    applied_through_6(follower)
    data = ppickle.dumps((b"x" * 100, 7, 1))
    pieces = [("start", data[:60]), ("finish", data[60:len(data) - 3]),
              ("finish", data[len(data) - 3:])]
    for kind, piece in pieces:
        follower.obj._SyncObj__onMessageReceived(follower.leader, {
            "type": "append_entries", "transmission": kind, "data": piece, "term": 1,
            "commit_index": 6, "prevLogIdx": 6, "prevLogTerm": 1})
    follower.obj._send_acks()
    assert [i for i, _ in follower.log()] == [1, 2, 3, 4, 5, 6, 7]
    assert follower.acks[-1] == (8, True, False)


# ---- the rule as pure logic ----

def test_plan_passes_a_mismatch_and_an_append_at_the_end() -> None:
    terms = {1: 0, 2: 1, 3: 1}
    assert plan_append(terms.get, 3, 3, 3, 1, entries(4, 5)).action == "pass"
    assert plan_append(terms.get, 3, 3, 2, 7, entries(3, 3)).action == "pass"
    assert plan_append(terms.get, 3, 3, 9, 1, []).action == "pass"


def test_plan_rejects_only_a_conflict_at_or_below_the_commit_index() -> None:
    terms = {1: 0, 2: 1, 3: 1, 4: 1}
    assert plan_append(terms.get, 4, 3, 2, 1, [(NOOP, 3, 2)]).conflict == 3
    plan = plan_append(terms.get, 4, 3, 2, 1, [(NOOP, 3, 1), (NOOP, 4, 2)])
    assert (plan.action, plan.prev_idx, plan.prev_term, plan.last_new) == ("rewrite", 3, 1, 4)
