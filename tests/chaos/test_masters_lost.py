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

from tests.chaos import history as H
from tests.chaos.workload import COUNTER, Writer, applied, check_history, configmap
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos


def _run_writers(mc: MasterCluster, hist: H.History, acks: int) -> list[Writer]:
    writers = [Writer(mc.client_at(m, timeout=5), f"{m.name}w{k}", hist)
               for m in mc.masters for k in range(2)]
    for w in writers:
        w.start()
    wait_until(lambda: len(hist.versions) >= acks, 30, 0.02, f"{acks} acknowledged writes")
    return writers


def _stop(writers: list[Writer]) -> None:
    for w in writers:
        w.stop_event.set()
    for w in writers:
        w.join(15)


def test_all_masters_killed_at_once_lose_no_acknowledged_write(tmp_path):
    mc = MasterCluster.create(tmp_path)
    hist = H.History()
    writers: list[Writer] = []
    try:
        mc.client().create(configmap(COUNTER, {"n": "0"}))
        writers = _run_writers(mc, hist, 300)
        for m in mc.masters:  # as close to one moment as signals get
            assert m.proc is not None
            m.proc.signal(9)
        for m in mc.masters:
            assert m.proc is not None
            m.proc.kill()
        _stop(writers)
        acked_before = len(hist.versions)
        for m in mc.masters:
            m.start()
        wait_until(mc.leader, 30, 0.1, "a leader after the restart")
        clients = {m.name: mc.client_at(m, timeout=5) for m in mc.masters}
        check_history(hist, clients)
        print(f"\nchaos: all masters killed at once; {acked_before} acknowledged writes "
              f"({len(hist.unknown_creates)} + {hist.unknown_increments} outcomes unknown), "
              "all back after the restart")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        _stop(writers)
        mc.stop()


def test_a_follower_that_lost_its_data_directory_rejoins_and_catches_up(tmp_path):
    mc = MasterCluster.create(tmp_path)
    hist = H.History()
    writers: list[Writer] = []
    try:
        mc.client().create(configmap(COUNTER, {"n": "0"}))
        writers = _run_writers(mc, hist, 300)
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
        _stop(writers)
        target = applied(leader, mc.token)
        wait_until(lambda: applied(follower, mc.token) >= target, 60, 0.1,
                   "the emptied follower to catch up")
        clients = {m.name: mc.client_at(m, timeout=5) for m in mc.masters}
        stores = check_history(hist, clients)
        print(f"\nchaos: {follower.name} lost its data directory and caught up: "
              f"{len(stores[follower.name])} ConfigMaps identical on every master")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        _stop(writers)
        mc.stop()
