"""A Job across a leader failover: three real masters, hollow nodes (the real
agent over an in-memory runtime) whose containers this test ends, and the
leader killed while the Job runs. The Job completes with exactly
``completions`` successful pods, each counted once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from coxapi.client import Client
from master.controllers.jobplan import TRACKING
from tests.hollow import HollowNodes
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.integration
NODES = ["hollow-a", "hollow-b"]
COMPLETIONS = 6


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[MasterCluster, Client, HollowNodes]]:
    mc = MasterCluster.create(tmp_path)
    nodes = None
    try:
        nodes = HollowNodes(NODES, [m.url for m in mc.masters], mc.token, tmp_path / "hollow",
                            heartbeat_period=1.0, ca_file=mc.ca_file).start()
        yield mc, mc.client(), nodes
    finally:
        if nodes is not None:
            nodes.stop()
        mc.stop()


def finisher(nodes: HollowNodes, stop: threading.Event, ended: list[str]) -> None:
    """End every app container once it runs: the first with exit code 1 (a
    failed pod, retried after the back-off), the others with 0."""
    while not stop.wait(0.2):
        for agent in nodes.agents:
            rt = agent.runtime
            for c in rt.list_containers({}):
                key = f"{agent.name}/{c.id}"  # ids are per runtime
                if c.running and not c.is_infra and key not in ended:
                    rt.exit(c.id, 1 if not ended else 0)  # type: ignore[attr-defined]
                    ended.append(key)


def job(client: Client) -> dict:
    return client.get("Job", "work", "default")


def test_job_completes_exactly_once_across_a_leader_failover(cluster) -> None:
    mc, client, nodes = cluster
    wait_until(lambda: {n["metadata"]["name"] for n in client.list("Node")["items"]
                        if (n.get("spec") or {}).get("podCIDR")} == set(NODES),
               30, 0.2, "hollow nodes registered")
    client.create({"apiVersion": "batch/v1", "kind": "Job",
                   "metadata": {"name": "work", "namespace": "default"},
                   "spec": {"completions": COMPLETIONS, "parallelism": 2, "template": {"spec": {
                       "restartPolicy": "Never",
                       "containers": [{"name": "app", "image": "work:1"}]}}}})
    stop, ended = threading.Event(), []
    t = threading.Thread(target=finisher, args=(nodes, stop, ended), daemon=True)
    t.start()
    try:
        wait_until(lambda: (job(client).get("status") or {}).get("succeeded", 0) >= 2, 60, 0.2,
                   "two pods counted before the failover")
        leader = mc.leader()
        assert leader is not None and leader.proc is not None
        leader.proc.signal(signal.SIGKILL)
        try:
            done = wait_until(lambda: (lambda j: j if any(
                c["type"] == "Complete" and c["status"] == "True"
                for c in (j.get("status") or {}).get("conditions") or []) else None)(job(client)),
                120, 0.3, "the job to complete after the failover")
        except AssertionError as e:
            raise AssertionError(f"{e}\njob status: {job(client).get('status')}\npods: " + str(
                [(p["metadata"]["name"], p["status"].get("phase"), p["metadata"].get("finalizers"),
                  p["metadata"].get("deletionTimestamp"))
                 for p in client.list("Pod", "default")["items"]])) from None
    finally:
        stop.set()
        t.join(5)
    st = done["status"]
    assert st["succeeded"] == COMPLETIONS and st["failed"] == 1, st
    assert not st.get("uncountedTerminatedPods"), st
    pods = client.list("Pod", "default", label_selector="batch.kubernetes.io/job-name=work")["items"]
    phases = sorted(p["status"]["phase"] for p in pods)
    assert phases.count("Succeeded") == COMPLETIONS and phases.count("Failed") == 1, phases
    assert all(TRACKING not in (p["metadata"].get("finalizers") or []) for p in pods)
