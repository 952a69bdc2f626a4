"""Chaos: masters lost in ways a single kill does not cover.

- All three masters SIGKILLed at the same moment while clients write through
  each of them, then restarted from their data directories: every
  acknowledged write is back (the journal is synced before a write is
  acknowledged: docs/raftstore.md).
- A follower's data directory is lost (killed, directory deleted, restarted
  empty): it rejoins, catches up from the leader and ends with an identical
  store.

Both are judged from the recorded history (tests/chaos/history.py).
"""

from __future__ import annotations

import shutil

import pytest

from tests.chaos.workload import Writers, applied, check_history, history_run
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos


def _run_writers(mc: MasterCluster, writers: Writers, acks: int) -> None:
    writers.start_on(mc, mc.masters, per_master=2, timeout=5)
    wait_until(lambda: len(writers.hist.versions) >= acks, 30, 0.02,
               f"{acks} acknowledged writes")


def test_all_masters_killed_at_once_lose_no_acknowledged_write(tmp_path):
    mc = MasterCluster.create(tmp_path)
    with history_run(mc) as writers:
        hist = writers.hist
        _run_writers(mc, writers, 300)
        for m in mc.masters:  # as close to one moment as signals get
            assert m.proc is not None
            m.proc.signal(9)
        for m in mc.masters:
            assert m.proc is not None
            m.proc.kill()
        writers.stop()
        acked_before = len(hist.versions)
        for m in mc.masters:
            m.start()
        wait_until(mc.leader, 30, 0.1, "a leader after the restart")
        mc.wait_answering()  # a leader among them does not mean all three serve yet
        clients = {m.name: mc.client_at(m, timeout=5) for m in mc.masters}
        check_history(hist, clients)
        print(f"\nchaos: all masters killed at once; {acked_before} acknowledged writes "
              f"({len(hist.unknown_creates)} + {hist.unknown_increments} outcomes unknown), "
              "all back after the restart")


def test_a_follower_that_lost_its_data_directory_rejoins_and_catches_up(tmp_path):
    mc = MasterCluster.create(tmp_path)
    with history_run(mc) as writers:
        hist = writers.hist
        _run_writers(mc, writers, 300)
        leader = wait_until(mc.leader, 15, 0.05, "a leader")
        follower = next(m for m in mc.masters if m is not leader)
        assert follower.proc is not None
        follower.proc.kill()
        wait_until(lambda: len(hist.versions) >= 600, 30, 0.02,
                   "writes while the follower is down")
        data_dir = tmp_path / follower.name
        shutil.rmtree(data_dir)
        follower.start()
        wait_until(lambda: len(hist.versions) >= 900, 30, 0.02,
                   "writes while the follower catches up")
        writers.stop()
        target = applied(leader, mc.token)
        wait_until(lambda: applied(follower, mc.token) >= target, 60, 0.1,
                   "the emptied follower to catch up")
        clients = {m.name: mc.client_at(m, timeout=5) for m in mc.masters}
        stores = check_history(hist, clients)
        print(f"\nchaos: {follower.name} lost its data directory and caught up: "
              f"{len(stores[follower.name])} ConfigMaps identical on every master")
