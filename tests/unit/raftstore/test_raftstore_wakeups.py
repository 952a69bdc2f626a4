"""The Raft thread's wake-up pipe (PipelinedSyncObj._applyCommand): one byte
wakes it for every command queued until its next command check, and a command
the Raft thread proposes before that check writes none. Every command is
still taken and applied."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from raftstore.pysyncobj_import import SyncObjConf
from raftstore.replica import LEADER, PipelinedSyncObj, StateMachine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoneReplica:
    """A one-member cluster, ticked by hand in the test's thread (its Raft thread)."""

    def __init__(self) -> None:
        self.applied: list[dict] = []
        self.sm = StateMachine(self.applied.append, lambda state: None)
        conf = SyncObjConf(autoTick=False, appendEntriesUseBatch=False, raftMinTimeout=0.5,
                           raftMaxTimeout=0.6)
        self.obj = PipelinedSyncObj(f"127.0.0.1:{free_port()}", [], conf=conf,
                                    consumers=[self.sm], fsync=False)
        notifier = self.obj._SyncObj__pipeNotifier
        real = notifier.notify
        self.proposal_wakeups = 0  # bytes written by _applyCommand (not the lone replica's own)

        def counted() -> None:
            if sys._getframe(1).f_code.co_name == "_applyCommand":
                self.proposal_wakeups += 1
            real()
        notifier.notify = counted

    def tick_until(self, done: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self.obj._onTick(0.01)

    def propose(self, n: int, callback: Callable | None = None) -> None:
        self.sm.apply({"n": n}, callback=callback)


@pytest.fixture
def replica() -> Iterator[LoneReplica]:
    r = LoneReplica()
    r.tick_until(lambda: r.obj._SyncObj__raftState == LEADER, "the lone replica to lead")
    yield r
    r.obj.destroy()


def test_commands_from_many_threads_before_a_tick_write_one_wakeup(replica):
    def propose_five(first: int) -> None:
        for n in range(first, first + 5):
            replica.propose(n)

    threads = [threading.Thread(target=propose_five, args=(i * 5,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert replica.proposal_wakeups == 1
    replica.tick_until(lambda: len(replica.applied) == 40, "all 40 commands applied")
    assert sorted(c["n"] for c in replica.applied) == list(range(40))

    # the tick took them: the next command wakes the Raft thread again
    other = threading.Thread(target=replica.propose, args=(40,))
    other.start()
    other.join(10)
    assert replica.proposal_wakeups == 2
    replica.tick_until(lambda: len(replica.applied) == 41, "the 41st command applied")


def test_a_command_the_raft_thread_proposes_before_its_check_writes_no_wakeup(replica):
    # a completion proposing the next command, as a group commit's does: it
    # runs in the tick's apply, before the tick's command check
    replica.propose(1, callback=lambda result, failure: replica.propose(2))
    replica.proposal_wakeups = 0  # the first came from outside a tick
    replica.tick_until(lambda: len(replica.applied) == 2, "both commands applied")
    assert [c["n"] for c in replica.applied] == [1, 2]
    assert replica.proposal_wakeups == 0
