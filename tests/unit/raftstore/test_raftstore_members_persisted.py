"""A replica writes a changed member list to disk before it acknowledges the
membership entry that changed it.

Were it written at a later tick, a replica closed between its ack and that
tick restarts with the old members: pysyncobj re-applies a membership entry
from the journal only once it sees it committed again. The test drives one
follower's message handler by hand, as a leader's append would arrive."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from raftstore.membership import MEMBERSHIP, load_members
from raftstore.pysyncobj_import import SyncObjConf
from raftstore.replica import PipelinedSyncObj, StateMachine
from tests.support import free_port


class Follower:
    def __init__(self, data_dir: str) -> None:
        sm = StateMachine(lambda cmd: None, lambda state: None)
        conf = SyncObjConf(autoTick=False, appendEntriesUseBatch=False, raftMinTimeout=30,
                           raftMaxTimeout=60, connectionTimeout=60,
                           dynamicMembershipChange=True)
        self.addr = f"127.0.0.1:{free_port()}"
        self.peers = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
        self.obj = PipelinedSyncObj(self.addr, self.peers, conf=conf, consumers=[sm],
                                    fsync=False, data_dir=data_dir)
        self.leader = next(n for n in self.obj._SyncObj__otherNodes if n.id == self.peers[0])
        self.members_at_ack: list[list[str] | None] = []
        self.data_dir = data_dir
        self.obj._SyncObj__transport.send = self._sent  # type: ignore[method-assign]

    def _sent(self, node: Any, message: dict) -> None:
        if message["type"] == "next_node_idx" and message["success"]:
            self.members_at_ack.append(load_members(self.data_dir))

    def append(self, prev: int, entries: list[tuple[bytes, int, int]]) -> None:
        self.obj._SyncObj__onMessageReceived(self.leader, {
            "type": "append_entries", "term": 1, "commit_index": 0,
            "entries": entries, "prevLogIdx": prev, "prevLogTerm": 0})
        self.obj._send_acks()


@pytest.fixture
def follower(tmp_path) -> Iterator[Follower]:
    f = Follower(str(tmp_path))
    yield f
    f.obj.destroy()


def _membership(kind: str, node_id: str) -> bytes:
    return bytes([MEMBERSHIP]) + pickle.dumps([kind, node_id])


def test_a_removal_is_on_disk_when_the_follower_acknowledges_it(follower):
    gone = follower.peers[1]
    follower.append(1, [(_membership("rem", gone), 2, 1)])
    assert follower.members_at_ack == [sorted([follower.addr, follower.peers[0]])]


def test_an_addition_is_on_disk_when_the_follower_acknowledges_it(follower):
    new = f"127.0.0.1:{free_port()}"
    follower.append(1, [(_membership("add", new), 2, 1)])
    assert follower.members_at_ack == [sorted([follower.addr, *follower.peers, new])]
