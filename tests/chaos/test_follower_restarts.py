"""Chaos: one follower master killed (SIGKILL) and restarted, three times,
while clients write. Pre-vote: the returning master must not depose the
leader (seen before: term 11 -> 13 on restarting one follower, and every
controller restarted). The leader and its term stay; every acknowledged write
is on every master (tests/chaos/workload.check_history)."""

from __future__ import annotations

import pytest

from tests.chaos.workload import check_history, history_run
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos

RESTARTS = 3


def test_restarting_a_follower_leaves_the_leader_and_its_term_alone(tmp_path):
    mc = MasterCluster.create(tmp_path)
    with history_run(mc) as writers:
        hist = writers.hist
        leader = wait_until(mc.leader, 15, 0.05, "a leader")
        term = leader.raft_status(mc.token)["term"]
        follower = next(m for m in mc.masters if m is not leader)
        writers.start_on(mc, [leader], per_master=2, timeout=3)
        for n in range(RESTARTS):
            assert follower.proc is not None
            follower.proc.kill()
            count = len(hist.versions)
            wait_until(lambda count=count: len(hist.versions) >= count + 20, 30, 0.02,
                       f"restart {n}: writes while the follower is down")
            follower.start()
            wait_until(lambda: follower.raft_status(mc.token)["leader"] == leader.raft
                       and follower.raft_status(mc.token)["applied_index"]
                       >= leader.raft_status(mc.token)["commit_index"] - 50, 60, 0.05,
                       f"restart {n}: the follower following the leader again")
            count = len(hist.versions)
            wait_until(lambda count=count: len(hist.versions) >= count + 50, 30, 0.02,
                       f"restart {n}: writes after the follower's return")
            terms = {m.name: m.raft_status(mc.token)["term"] for m in mc.masters}
            assert mc.leader() is leader and set(terms.values()) == {term}, terms
        writers.stop()
        check_history(hist, {m.name: mc.client_at(m, timeout=5) for m in mc.masters})
        print(f"\nchaos: {follower.name} restarted {RESTARTS} times; {leader.name} stayed leader "
              f"at term {term}; {len(hist.versions)} acknowledged writes, none lost")
