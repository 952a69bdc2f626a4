"""Pre-vote: a replica coming back does not depose a leader that still has a
majority (three stores in one process on loopback)."""

from __future__ import annotations

import time

import pytest

from raftstore import RaftStore, StoreConfig
from tests.integration.raftstore.cutoff import cut_off
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _config(addr: str, addrs: list[str], data_dir: str) -> StoreConfig:
    return StoreConfig(self_addr=addr, peers=[p for p in addrs if p != addr], data_dir=data_dir,
                       secret="prevote-secret")


def test_restarting_a_follower_leaves_the_leader_and_its_term_alone(tmp_path):
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stores = [RaftStore(_config(a, addrs, str(tmp_path / f"s{i}"))) for i, a in enumerate(addrs)]
    try:
        leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                            what="a leader")
        leader.put("/prevote/before", {})
        term = leader.status()["term"]
        i = next(i for i, s in enumerate(stores) if s is not leader)
        for n in range(3):
            stores[i].close()
            leader.put(f"/prevote/{n}", {})  # the other follower still makes a majority
            stores[i] = RaftStore(_config(addrs[i], addrs, str(tmp_path / f"s{i}")))
            back = stores[i]
            wait_until(lambda back=back: back.status()["leader"] == leader.config.self_addr
                       and back.status()["applied_index"] >= leader.status()["commit_index"],
                       20, what=f"restart {n}: the follower following the leader again")
            # a linearizable read through it sees every write so far
            assert len(back.range("/prevote/", linearizable=True).kvs) == n + 2
            assert leader.is_leader() and [s.status()["term"] for s in stores] == [term] * 3
    finally:
        for s in stores:
            s.close()


def test_a_follower_cut_off_and_back_leaves_the_leader_and_its_term_alone(tmp_path):
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stores = [RaftStore(_config(a, addrs, str(tmp_path / f"s{i}"))) for i, a in enumerate(addrs)]
    try:
        leader = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                            what="a leader")
        term = leader.status()["term"]
        follower = next(s for s in stores if s is not leader)
        for n in range(3):
            with cut_off(follower):
                leader.put(f"/cut/{n}", {})
                # several election timeouts: pysyncobj's follower stood again and again
                time.sleep(4 * follower.config.election_timeout_max)
                assert follower.status()["term"] == term  # no election without a majority
            wait_until(lambda: follower.status()["leader"] == leader.config.self_addr
                       and follower.status()["applied_index"] >= leader.status()["commit_index"],
                       20, what=f"cut {n}: the follower following the leader again")
            assert leader.is_leader() and [s.status()["term"] for s in stores] == [term] * 3
    finally:
        for s in stores:
            s.close()
