"""Chaos: the Raft leader is partitioned from the other two masters (its Raft
traffic dropped both ways by nftables, tests/chaos/nftcut.py) while clients
write through every master, then the partition heals.

Verdict: the majority elects a leader and goes on (writes acknowledged
through it); the isolated master acknowledges no write and serves no
linearizable read (503) for as long as it is cut off; after the heal it
rejoins — follows the new leader and has applied everything committed —
within a few election timeouts, without deposing the new leader (pre-vote);
and, from the recorded history, every acknowledged write is on every master
and the stores are identical. ``CHAOS_PARTITION_SECONDS`` (default 8) sets
how long the partition lasts.
"""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from coxapi import errors
from coxapi.client import Client
from raftstore import StoreConfig
from tests.chaos.nftcut import raft_cut
from tests.chaos.workload import COUNTER, check_history, configmap, history_run
from tests.masters import Master, MasterCluster
from tests.support import wait_until

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.skipif(shutil.which("nft") is None or os.geteuid() != 0,
                       reason="needs nft and root"),
]

RAFT_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
PARTITION_SECONDS = float(os.environ.get("CHAOS_PARTITION_SECONDS", "8"))


class IsolatedProbe(threading.Thread):
    """Writes and linearizable reads through the isolated master only; counts
    what it acknowledged or served (must stay 0) and what it refused."""

    def __init__(self, client: Client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.acknowledged = self.served = self.refused = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            try:
                self.client.create(configmap(f"isolated-{i}", {"i": str(i)}))
                self.acknowledged += 1
            except errors.ApiError:
                self.refused += 1
            try:
                self.client.get("ConfigMap", COUNTER, "default")  # linearizable
                self.served += 1
            except errors.ApiError:
                self.refused += 1
            i += 1
            self.stop_event.wait(0.05)


def following(m: Master, token: str, leader: Master) -> bool:
    """``m`` follows ``leader`` and has applied everything it had committed
    just before (asked first: under load the commit index never stands still)."""
    committed = leader.raft_status(token)["commit_index"]
    mine = m.raft_status(token)
    return (mine["leader"] == leader.raft and mine["role"] == "follower"
            and mine["applied_index"] >= committed)


def test_a_partitioned_leader_is_refused_meanwhile_and_rejoins_quickly(tmp_path):
    mc = MasterCluster.create(tmp_path, raft_hosts=RAFT_HOSTS)
    probe = None
    with history_run(mc) as writers:
        hist = writers.hist
        try:
            writers.start_on(mc, mc.masters, per_master=2, timeout=3)
            wait_until(lambda: len(hist.versions) >= 100, 30, 0.02, "writes before the partition")
            old = wait_until(mc.leader, 15, 0.05, "a leader")
            others = [m for m in mc.masters if m is not old]
            with raft_cut(old.raft, [m.raft for m in others]):
                cut_at = time.monotonic()
                new = wait_until(lambda: next((m for m in others if m.raft_status(mc.token)["role"]
                                               == "leader"), None), 15, 0.05,
                                 "a leader among the other two")
                elected = time.monotonic() - cut_at
                probe = IsolatedProbe(mc.client_at(old, timeout=10))
                probe.start()
                n = len(hist.versions)
                wait_until(lambda: len(hist.versions) >= n + 100, 30, 0.02,
                           "writes acknowledged through the new leader")
                wait_until(lambda: old.raft_status(mc.token)["role"] == "follower", 15, 0.05,
                           "the isolated leader to step down")
                time.sleep(max(0.0, PARTITION_SECONDS - (time.monotonic() - cut_at)))
                probe.stop_event.set()
                probe.join(15)
                term = new.raft_status(mc.token)["term"]
            healed_at = time.monotonic()
            wait_until(lambda: following(old, mc.token, new), 30, 0.02,
                       "the isolated master to rejoin")
            rejoin = time.monotonic() - healed_at
            n = len(hist.versions)
            wait_until(lambda: len(hist.versions) >= n + 50, 30, 0.02, "writes after the heal")
            writers.stop()

            assert probe.acknowledged == 0 and probe.served == 0, (
                f"the isolated master acknowledged {probe.acknowledged} writes and served "
                f"{probe.served} linearizable reads")
            assert probe.refused > 0
            status = new.raft_status(mc.token)
            assert status["role"] == "leader" and status["term"] == term  # not deposed on return
            check_history(hist, {m.name: mc.client_at(m, timeout=5) for m in mc.masters})
            print(f"\nchaos partition: {old.name} cut off for {PARTITION_SECONDS:g}s, {new.name} "
                  f"elected after {elected:.2f}s; the isolated master refused {probe.refused} "
                  f"requests, acknowledged none; rejoined {rejoin:.2f}s after the heal; "
                  f"{len(hist.versions)} acknowledged writes ({len(hist.unknown_creates)} + "
                  f"{hist.unknown_increments} unknown), none lost")
            # a couple of election timeouts (the target is 2 s with the defaults)
            assert rejoin < 4 * StoreConfig().election_timeout_max
        finally:
            if probe is not None:
                probe.stop_event.set()
