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
import threading
import time

import pytest

from coxapi import errors
from coxapi.client import Client
from tests.chaos import history as H
from tests.masters import Master, MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos

KILLS = int(os.environ.get("COX_CHAOS_KILLS", "10"))
WRITERS_PER_MASTER = 2
COUNTER = "counter"


def configmap(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": data}


REPLICASET = {
    "apiVersion": "apps/v1", "kind": "ReplicaSet",
    "metadata": {"name": "keep", "namespace": "default"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "keep"}},
             "template": {"metadata": {"labels": {"app": "keep"}},
                          "spec": {"containers": [{"name": "c", "image": "demo:v1"}]}}},
}


class Writer(threading.Thread):
    def __init__(self, client: Client, wid: str, hist: H.History) -> None:
        super().__init__(daemon=True)
        self.client, self.wid, self.hist = client, wid, hist
        self.stop_event = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            if i % 2 == 0:
                self._create(f"{self.wid}-{i}", {"writer": self.wid, "i": str(i)})
            else:
                self._increment()
            i += 1

    def _create(self, name: str, data: dict[str, str]) -> None:
        sent = time.monotonic()
        try:
            obj = self.client.create(configmap(name, data))
            self.hist.created(name, data, obj["metadata"]["resourceVersion"], sent,
                              time.monotonic())
        except errors.OutcomeUnknown:
            self.hist.create_unknown(name)
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)  # refused (its master is down or leaderless)

    def _increment(self) -> None:
        try:
            cm = self.client.get("ConfigMap", COUNTER, "default")
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)
            return
        cm["data"]["n"] = str(int(cm["data"]["n"]) + 1)
        sent = time.monotonic()
        try:
            obj = self.client.update(cm)
            self.hist.incremented(obj["metadata"]["resourceVersion"], sent, time.monotonic())
        except errors.OutcomeUnknown:
            self.hist.increment_unknown()
        except errors.Conflict:
            pass  # another writer won this round: nothing was written
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)


def live_pods(client: Client) -> set[str]:
    pods = client.list("Pod", "default", label_selector="app=keep")["items"]
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def applied(m: Master, token: str) -> int:
    return int(m.raft_status(token)["applied_index"])


def snapshot(client: Client) -> tuple[str, dict[str, dict]]:
    """The master's own replica (resourceVersion=0: no read barrier), by name."""
    listed = client.request("GET", "/api/v1/namespaces/default/configmaps",
                            params={"resourceVersion": "0"})
    return (listed["metadata"]["resourceVersion"],
            {cm["metadata"]["name"]: cm for cm in listed["items"]})


def delete_pod(client: Client, name: str) -> bool:
    try:
        client.delete("Pod", name, "default")
    except errors.NotFound:
        pass  # an earlier attempt whose answer was lost deleted it
    return True


def at_one_revision(clients: dict[str, Client]) -> dict[str, dict[str, dict]] | None:
    """Each master's ConfigMaps, if all three were read at the same revision
    (leases still renew, so the revision may move between reads: try again)."""
    snaps = {name: snapshot(c) for name, c in clients.items()}
    if len({rv for rv, _ in snaps.values()}) != 1:
        return None
    return {name: objs for name, (_, objs) in snaps.items()}


def test_leader_killed_again_and_again_loses_nothing(tmp_path):
    mc = MasterCluster.create(tmp_path)
    clients = {m.name: Client([m.url], mc.token, timeout=5) for m in mc.masters}
    any_master = mc.client()
    hist = H.History()
    writers: list[Writer] = []
    to_write: list[float] = []
    to_replace: list[float] = []
    try:
        any_master.create(configmap(COUNTER, {"n": "0"}))
        any_master.create(REPLICASET)
        wait_until(lambda: len(live_pods(any_master)) == 3, 30, 0.1, "the ReplicaSet's pods")
        writers = [Writer(clients[m.name], f"{m.name}w{k}", hist)
                   for m in mc.masters for k in range(WRITERS_PER_MASTER)]
        for w in writers:
            w.start()
        for kill in range(KILLS):
            before = len(hist.versions)
            wait_until(lambda b=before: len(hist.versions) >= b + 50, 30, 0.02,
                       f"50 acknowledged writes before kill {kill + 1}")
            leader = wait_until(mc.leader, 15, 0.05, "a leader")
            assert leader.proc is not None
            killed_at = time.monotonic()
            leader.proc.kill()
            survivor = Client([m.url for m in mc.masters if m is not leader], mc.token,
                              timeout=5)
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
        for w in writers:
            w.stop_event.set()
        for w in writers:
            w.join(15)

        # Every master applies everything, then the verdict from the history.
        stores = wait_until(lambda: at_one_revision(clients), 30, 0.1,
                            "the three masters at one revision")
        for name, store in stores.items():
            data = {n: cm.get("data", {}) for n, cm in store.items()}
            lost = H.lost_creates(hist, data)
            assert not lost, f"{name} lost acknowledged creates: {lost[:10]}"
            problem = H.counter_problem(hist, int(store[COUNTER]["data"]["n"]))
            assert problem is None, f"{name}: {problem}"
        assert not H.reused_versions(hist), "a resourceVersion was handed out twice"
        diffs = H.store_differences(stores)
        assert not diffs, f"the masters' stores differ on {diffs[:10]}"
        print(f"\nchaos: {KILLS} leader kills; {len(hist.creates)} creates and "
              f"{hist.increments} increments acknowledged, {len(hist.unknown_creates)} + "
              f"{hist.unknown_increments} outcomes unknown, none lost; failover to the first "
              f"acknowledged write {H.summary(to_write)}; to the controllers replacing a pod "
              f"{H.summary(to_replace)}")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        for w in writers:
            w.stop_event.set()
        mc.stop()
