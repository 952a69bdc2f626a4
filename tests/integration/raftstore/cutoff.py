"""Cutting an in-process store off from its peers, at the level of Raft messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from raftstore import RaftStore


@contextmanager
def cut_off(store: RaftStore) -> Iterator[None]:
    """Drop every Raft message the store sends or receives. Its TCP
    connections stay up (bytes still flow), so pysyncobj's follower, still
    "connected", stands for election after election while cut off."""
    transport = store._raft._SyncObj__transport
    send, receive = transport.send, transport._onMessageReceivedCallback
    transport.send = lambda node, message: True
    transport._onMessageReceivedCallback = lambda node, message: None
    try:
        yield
    finally:
        transport.send, transport._onMessageReceivedCallback = send, receive
