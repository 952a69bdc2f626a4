"""Chaos: the Raft leader (which runs the controllers) is killed with SIGKILL
in the middle of a StatefulSet rolling update.

Model: 3 masters, 3 fake nodes (tests/fakekubelet.py plays kubelet through
the API), a StatefulSet ``web`` of 3 (OrderedReady, RollingUpdate) rolled
from ``demo:v1`` to ``demo:v2``. One fault: SIGKILL of the leader once the
first pod of the new revision exists. A recorder lists the pods every 50 ms
for the whole rollout.

Verdict, from the recorded history: the new leader finishes the rollout;
in no sample are there two live pods of one ordinal, or more live pods than
replicas; each ordinal had exactly two pods (its old one, then its new one)
whose sightings never overlap (an old pod never reappears once its
replacement was seen); the rollout went in reverse ordinal order (whenever
pod i is at the new image, every higher ordinal is live at it too), and at
most one ordinal was down (missing or not Ready) at any sample.
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

REPLICAS = 3
Sample = dict[str, tuple[str, str, bool]]  # live pod name -> (uid, image, ready)


def statefulset(image: str) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "replicas": REPLICAS, "serviceName": "web",
            "selector": {"matchLabels": {"app": "web"}},
            "updateStrategy": {"type": "RollingUpdate"},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def image_of(pod: dict) -> str:
    return pod["spec"]["containers"][0]["image"]


def ready(pod: dict) -> bool:
    st = pod.get("status") or {}
    return st.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions") or [])


def rollout_done(client, image: str) -> bool:
    sts = client.get("StatefulSet", "web", "default")
    st = sts.get("status") or {}
    pods = [p for p in client.list("Pod", "default", label_selector="app=web")["items"]
            if not p["metadata"].get("deletionTimestamp")]
    return (st.get("observedGeneration", 0) >= sts["metadata"]["generation"]
            and st.get("updatedReplicas") == REPLICAS and st.get("readyReplicas") == REPLICAS
            and st.get("currentRevision") == st.get("updateRevision")
            and len(pods) == REPLICAS and all(image_of(p) == image and ready(p) for p in pods))


class PodRecorder(threading.Thread):
    """Samples the live (non-terminating) pods of the set: name, uid, image, ready."""

    def __init__(self, client) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.samples: list[Sample] = []
        self.duplicates: list[list[str]] = []  # samples listing one name twice
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                pods = self.client.list("Pod", "default", label_selector="app=web")["items"]
            except (errors.ApiError, errors.ClusterUnreachable):
                pods = None  # masters are being killed; keep sampling
            if pods is not None:
                live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
                names = [p["metadata"]["name"] for p in live]
                if len(set(names)) != len(names):
                    self.duplicates.append(names)
                self.samples.append({p["metadata"]["name"]: (p["metadata"]["uid"], image_of(p),
                                                             ready(p)) for p in live})
            self.stop_event.wait(0.05)


def check_history(samples: list[Sample], new_image: str) -> list[str]:
    """What the recorded samples show went wrong (empty: nothing)."""
    problems = []
    names = [f"web-{i}" for i in range(REPLICAS)]
    sightings: dict[str, dict[str, tuple[int, int]]] = {n: {} for n in names}
    for k, sample in enumerate(samples):
        if len(sample) > REPLICAS or set(sample) - set(names):
            problems.append(f"sample {k}: unexpected live pods {sorted(sample)}")
        down = [n for n in names if n not in sample or not sample[n][2]]
        if len(down) > 1:
            problems.append(f"sample {k}: more than one ordinal down: {down}")
        for i, n in enumerate(names):
            if n in sample and sample[n][1] == new_image:
                behind = [m for m in names[i + 1:] if m not in sample
                          or sample[m][1] != new_image]
                if behind:
                    problems.append(f"sample {k}: {n} updated before {behind}")
        for n, (uid, _, _) in sample.items():
            first, _ = sightings.setdefault(n, {}).get(uid, (k, k))
            sightings[n][uid] = (first, k)
    for n in names:
        spans = sorted(sightings[n].values())
        if len(spans) != 2:
            problems.append(f"{n}: {len(spans)} pods over the rollout, not old then new")
        for (_, last), (first, _) in zip(spans, spans[1:], strict=False):
            if first <= last:
                problems.append(f"{n}: two pods seen alive over samples {first}..{last}")
    return problems


def test_leader_killed_mid_statefulset_rollout(tmp_path):
    mc = MasterCluster.create(tmp_path)
    kubelet = recorder = None
    try:
        client = mc.client()
        kubelet = FakeKubelet(client, ["f1", "f2", "f3"]).start()
        client.create(statefulset("demo:v1"))
        wait_until(lambda: rollout_done(client, "demo:v1"), 60, 0.2, "the set to be up")

        recorder = PodRecorder(mc.client())
        recorder.start()
        wait_until(lambda: recorder.samples, 10, 0.05, "a first sample")
        sts = client.get("StatefulSet", "web", "default")
        sts["spec"]["template"]["spec"]["containers"][0]["image"] = "demo:v2"
        client.update(sts)

        def rollout_started() -> bool:
            pods = client.list("Pod", "default", label_selector="app=web")["items"]
            return any(image_of(p) == "demo:v2" for p in pods)

        wait_until(rollout_started, 30, 0.05, "the rollout to start")
        leader = mc.leader()
        assert leader is not None and leader.proc is not None
        killed_at = time.monotonic()
        leader.proc.signal(signal.SIGKILL)
        leader.proc.kill()

        new_leader = wait_until(lambda: (m := mc.leader()) and m is not leader and m,
                                10, 0.05, "a new leader")
        elected_after = time.monotonic() - killed_at
        wait_until(lambda: rollout_done(client, "demo:v2"), 90, 0.2, "the rollout to finish")
        finished_after = time.monotonic() - killed_at
        wait_until(lambda: len(recorder.samples) >= 3 and all(
            len(s) == REPLICAS for s in recorder.samples[-3:]), 10, 0.05, "final samples")
        recorder.stop_event.set()
        recorder.join(5)

        print(f"\nchaos: leader {leader.name} killed; {new_leader.name} elected after "
              f"{elected_after:.2f}s; rollout finished {finished_after:.2f}s after the kill; "
              f"{len(recorder.samples)} samples")
        assert not recorder.duplicates, f"one name listed twice: {recorder.duplicates[:3]}"
        problems = check_history(recorder.samples, "demo:v2")
        assert not problems, "\n".join(problems[:20])
    except BaseException:
        print(mc.logs())
        raise
    finally:
        if recorder is not None:
            recorder.stop_event.set()
        if kubelet is not None:
            kubelet.stop()
        mc.stop()


def test_the_history_check_catches_overlaps_order_and_outages():
    old = {f"web-{i}": (f"old{i}", "demo:v1", True) for i in range(REPLICAS)}
    new = {f"web-{i}": (f"new{i}", "demo:v2", True) for i in range(REPLICAS)}
    good = [old, {**old, "web-2": new["web-2"]}, {**new, "web-0": old["web-0"]}, new]
    assert check_history(good, "demo:v2") == []
    wrong_order = [old, {**old, "web-0": new["web-0"]}, new]
    assert any("web-0 updated before" in p for p in check_history(wrong_order, "demo:v2"))
    resurrected = [old, {**old, "web-2": new["web-2"]}, old, new]
    assert any("two pods seen alive" in p for p in check_history(resurrected, "demo:v2"))
    two_down = [old, {"web-0": old["web-0"]}, new]
    assert any("more than one ordinal down" in p for p in check_history(two_down, "demo:v2"))
