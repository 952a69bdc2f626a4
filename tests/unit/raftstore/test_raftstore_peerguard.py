"""The Raft port binds the address given and drops a peer that announces a
frame larger than it may send (issue 9: pysyncobj buffered up to 2 GB from
anyone before decrypting anything)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from raftstore.config import StoreConfig
from raftstore.peerguard import HANDSHAKE_MAX_BYTES, MAX_FRAME_BYTES, drops, frame_verdict
from raftstore.pysyncobj_import import SyncObjConf
from raftstore.replica import PipelinedSyncObj, StateMachine, raft_conf
from tests.support import free_port, wait_until


def test_frame_verdict() -> None:
    head = struct.pack("i", 10)
    assert frame_verdict(b"\x00\x00", 100) == "read"
    assert frame_verdict(head + b"x" * 5, 100) == "read"
    assert frame_verdict(head + b"x" * 12, 100) == "complete"
    assert frame_verdict(struct.pack("i", 101), 100) == "drop"
    assert frame_verdict(struct.pack("i", -1), 100) == "drop"


def test_raft_binds_the_given_address_not_every_interface() -> None:
    cfg = StoreConfig(self_addr="127.0.0.1:7001")
    assert raft_conf(cfg, lambda old, new: None).bindAddress == "127.0.0.1:7001"
    cfg.bind_addr = "127.0.0.1:7101"
    assert raft_conf(cfg, lambda old, new: None).bindAddress == "127.0.0.1:7101"


class Replica:
    """One replica with the cluster secret, ticked by hand."""

    def __init__(self) -> None:
        self.addr = f"127.0.0.1:{free_port()}"
        conf = SyncObjConf(autoTick=False, appendEntriesUseBatch=False, password="s3cret",
                           bindAddress=self.addr,
                           raftMinTimeout=30, raftMaxTimeout=60,
                           connectionTimeout=60)
        self.obj = PipelinedSyncObj(self.addr, [f"127.0.0.1:{free_port()}"], conf=conf,
                                    consumers=[StateMachine(lambda c: None, lambda s: None)],
                                    fsync=False)

    def closed_by_server(self, sock: socket.socket) -> bool:
        self.obj._onTick(0)
        try:
            return sock.recv(1 << 16) == b""
        except BlockingIOError:
            return False
        except ConnectionResetError:
            return True


@pytest.fixture
def replica() -> Iterator[Replica]:
    r = Replica()
    yield r
    r.obj.destroy()


def test_the_port_is_not_reachable_on_another_local_address(replica: Replica) -> None:
    port = int(replica.addr.rsplit(":", 1)[1])
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.connect(("127.0.0.2", port))


@pytest.mark.parametrize("announced", [MAX_FRAME_BYTES + 1, HANDSHAKE_MAX_BYTES + 1, -5])
def test_an_unauthenticated_peer_announcing_a_large_frame_is_dropped_unbuffered(
        replica: Replica, announced: int) -> None:
    before = drops.dropped
    host, port = replica.addr.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(struct.pack("i", announced) + b"\x00" * 1024)
        s.setblocking(False)
        wait_until(lambda: replica.closed_by_server(s), 5, what="the connection dropped")
    assert drops.dropped == before + 1


def test_a_small_garbage_frame_is_dropped_too(replica: Replica) -> None:
    host, port = replica.addr.rsplit(":", 1)
    with socket.create_connection((host, int(port))) as s:
        s.sendall(struct.pack("i", 100) + b"\x07" * 100)
        s.setblocking(False)
        wait_until(lambda: replica.closed_by_server(s), 5, what="the connection dropped")
