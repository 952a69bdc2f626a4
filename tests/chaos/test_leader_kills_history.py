"""Chaos: the Raft leader is killed with SIGKILL again and again while clients
write through every master.

Model: 3 masters; two writers per master, each talking to its own master only
(no client-side failover, so every outcome belongs to one master). A writer
alternates between creating a ConfigMap with fresh content and a
compare-and-swap increment of one shared counter (read, then PUT with the
resourceVersion read). A ReplicaSet of 3 pods (no nodes: the pods stay
Pending, the controller still keeps their count). Per kill: SIGKILL the
leader, delete one pod through a survivor, restart the killed master from its
own data directory and let it catch up before the next kill.

Verdict, from the recorded history (tests/chaos/history.py): every
acknowledged create is on every master with its content; the counter equals
the acknowledged increments plus at most the increments whose outcome the
client never learned; no resourceVersion was handed out twice; the three
stores are identical object by object at one revision. Failover figures per
kill (to the first acknowledged write, and to the ReplicaSet controller
replacing the pod deleted after the kill) are printed as median and worst.

Kills: 10 (``COX_CHAOS_KILLS`` raises it for a soak).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.chaos import history as H
from tests.chaos.workload import applied, check_history, delete_pod, history_run, live_pods
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos

KILLS = int(os.environ.get("COX_CHAOS_KILLS", "10"))
WRITERS_PER_MASTER = 2


REPLICASET = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": {"name": "keep", "namespace": "default"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "keep"}},
             "template": {"metadata": {"labels": {"app": "keep"}},
                          "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}}},
}


def test_leader_killed_again_and_again_loses_nothing(tmp_path):
    mc = MasterCluster.create(tmp_path)
    any_master = mc.client()
    to_write: list[float] = []
    to_replace: list[float] = []
    with history_run(mc) as writers:
        hist = writers.hist
        any_master.create(REPLICASET)
        wait_until(lambda: len(live_pods(any_master)) == 3, 30, 0.1, "the ReplicaSet's pods")
        writers.start_on(mc, mc.masters, WRITERS_PER_MASTER, timeout=5)
        for kill in range(KILLS):
            before = len(hist.versions)
            wait_until(lambda b=before: len(hist.versions) >= b + 50, 30, 0.02,
                       f"50 acknowledged writes before kill {kill + 1}")
            leader = wait_until(mc.leader, 15, 0.05, "a leader")
            assert leader.proc is not None
            killed_at = time.monotonic()
            leader.proc.kill()
            survivor = mc.client_at(*(m for m in mc.masters if m is not leader), timeout=5)
            victim = sorted(live_pods(survivor))[0]
            wait_until(lambda v=victim, s=survivor: delete_pod(s, v), 15, 0.05,
                       "deleting a pod through a survivor")
            first = wait_until(lambda t=killed_at: hist.first_ack_sent_after(t), 15, 0.02,
                               "an acknowledged write after the kill")
            to_write.append(first - killed_at)
            wait_until(lambda v=victim, s=survivor: v not in (ps := live_pods(s)) and len(ps) == 3,
                       15, 0.02, "the deleted pod to be replaced")
            to_replace.append(time.monotonic() - killed_at)
            leader.start()
            new = wait_until(lambda m=leader: (ld := mc.leader()) and ld is not m and ld, 15,
                             0.05, "the new leader")
            target = applied(new, mc.token)
            wait_until(lambda m=leader, t=target: applied(m, mc.token) >= t, 30, 0.1,
                       f"{leader.name} to catch up after kill {kill + 1}")
        writers.stop()

        # Every master applies everything, then the verdict from the history.
        check_history(hist, {m.name: mc.client_at(m, timeout=5) for m in mc.masters})
        print(f"\nchaos: {KILLS} leader kills; {len(hist.creates)} creates and "
              f"{hist.increments} increments acknowledged, {len(hist.unknown_creates)} + "
              f"{hist.unknown_increments} outcomes unknown, none lost; failover to the first "
              f"acknowledged write {H.summary(to_write)}; to the controllers replacing a pod "
              f"{H.summary(to_replace)}")
