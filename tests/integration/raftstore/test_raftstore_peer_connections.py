"""Raft peer connections: they leave from the replica's own address, and a
replica cut off reconnects soon after the heal instead of waiting for the
kernel's next SYN retransmission (three stores in one process, each on its
own loopback address)."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from raftstore import RaftStore, StoreConfig
from raftstore.pysyncobj_import import CONNECTION_STATE
from tests.chaos.nftcut import raft_cut
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


@pytest.fixture
def stores(tmp_path):
    addrs = [f"{h}:{free_port()}" for h in HOSTS]
    out = [RaftStore(StoreConfig(self_addr=a, peers=[p for p in addrs if p != a],
                                 data_dir=str(tmp_path / f"s{i}"), secret="conn-secret"))
           for i, a in enumerate(addrs)]
    yield out
    for s in out:
        s.close()


def _all_connected(store: RaftStore) -> bool:
    return all(p["connected"] for p in store.status()["peers"])


def test_peer_connections_leave_from_the_replicas_own_address(stores):
    wait_until(lambda: all(_all_connected(s) for s in stores), 10, what="every peer connected")
    for s in stores:
        host = s.config.self_addr.rpartition(":")[0]
        transport = s._raft._SyncObj__transport
        outgoing = [c for c in transport._connections.values()
                    if c.state == CONNECTION_STATE.CONNECTED]
        assert outgoing or host == min(HOSTS)  # the higher address connects (pysyncobj)
        for conn in outgoing:
            assert conn._TcpConnection__socket.getsockname()[0] == host


@pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0,
                    reason="needs nft and root")
def test_a_replica_cut_off_reconnects_soon_after_the_heal(stores):
    wait_until(lambda: all(_all_connected(s) for s in stores), 10, what="every peer connected")
    leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                        what="a leader")
    # the lower follower: the other follower (a higher address) connects to
    # it (pysyncobj), and followers send each other no Raft messages
    cut = min((s for s in stores if s is not leader), key=lambda s: s.config.self_addr)
    others = [s.config.self_addr for s in stores if s is not cut]
    with raft_cut(cut.config.self_addr, others):
        wait_until(lambda: not any(p["connected"] for p in cut.status()["peers"]), 10,
                   what="the cut-off replica's connections to time out")
        # long enough for a connection attempt to be waiting for the kernel's
        # SYN retransmission (after 1, 3, 7 s)
        time.sleep(3.5)
    healed = time.monotonic()
    wait_until(lambda: _all_connected(cut), 10, 0.01, what="the connections back")
    took = time.monotonic() - healed
    print(f"\nreconnected {took:.2f}s after the heal")
    assert took < 4 * cut.config.election_timeout_min
