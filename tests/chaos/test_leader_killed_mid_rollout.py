"""Chaos: the Raft leader (which runs the controllers) is killed with SIGKILL
in the middle of a Deployment rollout.

Model: 3 masters, 3 fake nodes (tests/fakekubelet.py plays kubelet through
the API), a Deployment of 6 replicas with maxSurge 2 / maxUnavailable 1 and
minReadySeconds 1, so the rollout takes several seconds. One fault: SIGKILL
of the leader once the new ReplicaSet has pods. A recorder samples the pods
every 100 ms for the whole run.

Verdict, from the recorded history: the new leader finishes the rollout;
at no sample were there more live pods than replicas + maxSurge (no pod is
duplicated); at the end every pod has exactly one live controller owner of
the new template (none orphaned); every ConfigMap whose create a writer saw
acknowledged during the run exists afterwards; and the killed master, restarted with its
own argv, catches up with the others.
"""

from __future__ import annotations

import signal
import threading
import time

import pytest

from coxapi import errors
from tests.fakekubelet import FakeKubelet
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos

REPLICAS, SURGE = 6, 2


def deployment(image: str) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": REPLICAS, "minReadySeconds": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate",
                         "rollingUpdate": {"maxSurge": SURGE, "maxUnavailable": 1}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def rollout_done(client, image: str) -> bool:
    d = client.get("Deployment", "web", "default")
    st = d.get("status", {})
    tmpl_image = d["spec"]["template"]["spec"]["containers"][0]["image"]
    return (tmpl_image == image
            and st.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and st.get("updatedReplicas") == REPLICAS
            and st.get("availableReplicas") == REPLICAS
            and st.get("replicas") == REPLICAS)


class AckedWriter(threading.Thread):
    """Creates ConfigMaps one after another and records each acknowledged one."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.acked: list[str] = []
        self.failed = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            name = f"w-{i}"
            try:
                self.client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name, "namespace": "default"},
                                    "data": {"i": str(i)}})
                self.acked.append(name)
                i += 1
            except errors.AlreadyExists:
                self.acked.append(name)  # an earlier attempt committed after all
                i += 1
            except (errors.ApiError, errors.ClusterUnreachable):
                self.failed += 1  # unknown outcome: retried with the same name


class PodRecorder(threading.Thread):
    """Samples the live (non-terminating) pods of the workload."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.samples: list[tuple[float, int]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                pods = self.client.list("Pod", "default", label_selector="app=web")["items"]
                live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
                self.samples.append((time.monotonic(), len(live)))
            except (errors.ApiError, errors.ClusterUnreachable):
                pass  # masters are being killed; keep sampling
            self.stop_event.wait(0.1)


def test_leader_killed_mid_rollout_new_leader_finishes_it(tmp_path):
    mc = MasterCluster.create(tmp_path)
    kubelet = None
    recorder = writer = None
    try:
        client = mc.client()
        kubelet = FakeKubelet(client, ["f1", "f2", "f3"]).start()
        client.create(deployment("demo:v1"))
        wait_until(lambda: rollout_done(client, "demo:v1"), 60, 0.2, "first rollout")

        recorder = PodRecorder(client)
        recorder.start()
        writer = AckedWriter(mc.client())
        writer.start()
        d = client.get("Deployment", "web", "default")
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:v2"
        client.update(d)

        def new_rs_has_pods() -> bool:
            pods = client.list("Pod", "default", label_selector="app=web")["items"]
            return any(p["spec"]["containers"][0]["image"] == "demo:v2" for p in pods)

        wait_until(new_rs_has_pods, 30, 0.05, "the rollout to start")
        leader = mc.leader()
        assert leader is not None and leader.proc is not None
        killed_at = time.monotonic()
        leader.proc.signal(signal.SIGKILL)
        leader.proc.kill()

        new_leader = wait_until(lambda: (m := mc.leader()) and m is not leader and m,
                                10, 0.05, "a new leader")
        elected_after = time.monotonic() - killed_at
        wait_until(lambda: rollout_done(client, "demo:v2"), 90, 0.2, "the rollout to finish")
        recorder.stop_event.set()
        recorder.join(5)
        writer.stop_event.set()
        writer.join(15)
        present = {cm["metadata"]["name"] for cm in client.list("ConfigMap", "default")["items"]}
        lost = [n for n in writer.acked if n not in present]
        assert writer.acked and not lost, f"acknowledged writes lost: {lost}"

        peak = max(n for _, n in recorder.samples)
        print(f"\nchaos: leader {leader.name} killed; {new_leader.name} elected after "
              f"{elected_after:.2f}s; {len(recorder.samples)} samples; peak live pods {peak} "
              f"(limit {REPLICAS + SURGE}); {len(writer.acked)} acknowledged writes, "
              f"{writer.failed} failed attempts, none lost")
        assert peak <= REPLICAS + SURGE, f"pods duplicated: {peak} live at once"

        wait_until(lambda: len([p for p in client.list("Pod", "default")["items"]
                                if not p["metadata"].get("deletionTimestamp")]) == REPLICAS,
                   30, 0.2, "old pods to be gone")
        rss = {rs["metadata"]["uid"]: rs for rs in client.list("ReplicaSet", "default")["items"]}
        pods = client.list("Pod", "default", label_selector="app=web")["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        assert len(live) == REPLICAS
        assert len({p["metadata"]["name"] for p in live}) == REPLICAS
        for p in live:
            owners = [o for o in p["metadata"].get("ownerReferences", []) if o.get("controller")]
            assert len(owners) == 1, f"{p['metadata']['name']} has owners {owners}"
            rs = rss.get(owners[0]["uid"])
            assert rs is not None, f"{p['metadata']['name']} is orphaned"
            assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "demo:v2"
        old = [rs for rs in rss.values()
               if rs["spec"]["template"]["spec"]["containers"][0]["image"] == "demo:v1"]
        assert all(rs["spec"]["replicas"] == 0 for rs in old)

        # The killed master comes back from its own data directory and catches up.
        leader.start()
        want = new_leader.raft_status(mc.token)["applied_index"]
        wait_until(lambda: leader.raft_status(mc.token)["applied_index"] >= want, 30, 0.2,
                   "the restarted master to catch up")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        for t in (recorder, writer):
            if t is not None:
                t.stop_event.set()
        if kubelet is not None:
            kubelet.stop()
        mc.stop()
