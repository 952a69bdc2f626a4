"""Looking into a running cluster: node-side Events, `cox logs` options, the Metrics API.

One `cox cluster up` (3 masters, 1 node) with this module's own prefix
(``cxob``), subnet, CIDRs and ports; then:

- a crash-looping pod makes one BackOff Event whose count grows (not one per crash);
- an image that does not exist makes a Failed Event carrying Docker's reason;
- `cox logs --tail/--since/--timestamps/--limit-bytes/--previous` on real containers;
- `cox top` reads the Metrics API; a pod limited to 250m that
  spins reports about 250m, and the node's CPU matches what /proc/stat shows
  over the same window.
"""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from coxapi.timefmt import parse_epoch
from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxob"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.18.0/24", "--cluster-cidr", "10.244.228.0/22",
         "--service-cidr", "10.96.228.0/24", "--api-port", "12443", "--raft-port", "12401",
         "--nodes", "1"]
IMAGE = "coxswain/demo:latest"


def pod(name: str, command: str, **container: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [
                {"name": "app", "image": IMAGE, "imagePullPolicy": "Never",
                 "command": ["/bin/sh", "-c", command], **container}]}}


PODS = [
    pod("crash", "echo run-$(date +%s)-$RANDOM; exit 1"),
    pod("talker", "i=0; while :; do i=$((i+1)); echo line-$i; sleep 1; done"),
    pod("burner", "while :; do :; done", resources={"limits": {"cpu": "250m"}}),
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nopull"},
     "spec": {"containers": [{"name": "app", "image": "coxswain/does-not-exist:1",
                              "imagePullPolicy": "IfNotPresent"}]}},
]


class Cluster(harness.Cluster):
    def events(self, pod: str, reason: str) -> list[dict]:
        return [e for e in self.json("get", "events")["items"]
                if e["involvedObject"].get("name") == pod and e["reason"] == reason]

    def metrics(self, path: str) -> dict:
        return self.api.request("GET", f"/apis/metrics.k8s.io/v1beta1{path}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"), FLAGS)
    with harness.running(c):
        c.apply(*PODS)
        yield c


def test_a_crash_loop_is_one_back_off_event_with_a_growing_count(cluster):
    def counted() -> dict | None:
        found = cluster.events("crash", "BackOff")
        return found[0] if len(found) == 1 and found[0].get("count", 1) > 1 else None
    ev = wait_until(counted, 120, 2, "one BackOff event with count > 1")
    assert ev["type"] == "Warning" and ev["source"]["component"] == "kubelet"
    assert ev["message"].startswith("Back-off restarting failed container app in pod")
    assert len(cluster.events("crash", "BackOff")) == 1
    started = cluster.events("crash", "Started")
    assert len(started) == 1 and started[0]["count"] >= 2


def test_an_image_that_does_not_exist_makes_a_failed_event_with_the_reason(cluster):
    def failed() -> dict | None:
        found = cluster.events("nopull", "Failed")
        return found[0] if found else None
    ev = wait_until(failed, 180, 2, "a Failed pull event")
    prefix = 'Failed to pull image "coxswain/does-not-exist:1": '
    assert ev["message"].startswith(prefix) and len(ev["message"]) > len(prefix) + 5
    described = cluster.cox("describe", "pod", "nopull")
    assert "Failed to pull image" in described


def test_logs_tail_since_timestamps_limit_and_previous(cluster):
    wait_until(lambda: "line-6" in cluster.cox("logs", "talker", check=False), 90, 1,
               "six lines of output")
    tail = cluster.cox("logs", "talker", "--tail", "3").split()
    assert len(tail) == 3 and all(t.startswith("line-") for t in tail)
    everything = cluster.cox("logs", "talker").split()
    recent = cluster.cox("logs", "talker", "--since", "3s").split()
    assert 1 <= len(recent) < len(everything)
    stamped = cluster.cox("logs", "talker", "--timestamps", "--tail", "2").splitlines()
    for line in stamped:
        stamp, text = line.split(" ", 1)
        assert parse_epoch(stamp) is not None and text.startswith("line-")
    assert cluster.cox("logs", "talker", "--limit-bytes", "4") == "line\n"
    # The previous instance of the crash-looping container is kept and readable.
    line = re.compile(r"run-\d+-\d+\n")

    def instances() -> tuple[str, str] | None:
        # the current instance may be one just created that has not written yet
        previous = cluster.cox("logs", "crash", "--previous", check=False)
        current = cluster.cox("logs", "crash", check=False)
        return (previous, current) if line.fullmatch(previous) and line.fullmatch(current) \
            else None

    previous, current = wait_until(instances, 90, 1, "a previous and a current instance")
    assert previous != current  # read in that order: the current one is always a later run


class ProcStat:
    """Samples the machine's busy CPU seconds (/proc/stat) every 0.2 s."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self._hz = os.sysconf("SC_CLK_TCK")
        self._sample()  # the first one before returning: readers look at samples[0]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _sample(self) -> None:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        busy = sum(fields[:8]) - fields[3] - fields[4]  # all but idle, iowait; no guest
        self.samples.append((time.time(), busy / self._hz))

    def _run(self) -> None:
        while not self.stop.wait(0.2):
            self._sample()

    def cores_between(self, start: float, end: float) -> float:
        a = min(self.samples, key=lambda s: abs(s[0] - start))
        b = min(self.samples, key=lambda s: abs(s[0] - end))
        return (b[1] - a[1]) / (b[0] - a[0])


def cores(quantity: str) -> float:
    assert quantity.endswith("n"), quantity
    return int(quantity[:-1]) / 1e9


def test_top_reads_the_metrics_api_and_node_cpu_matches_proc_stat(cluster):
    def burner() -> dict | None:
        m = cluster.metrics("/namespaces/default/pods/burner")  # NotFound: not yet
        return m if cores(m["containers"][0]["usage"]["cpu"]) > 0.1 else None
    m = wait_until(burner, 120, 2, "metrics of the burner pod")
    assert 0.15 <= cores(m["containers"][0]["usage"]["cpu"]) <= 0.3, m  # limited to 250m
    stat = ProcStat()
    try:
        seen: list[tuple[float, float]] = []
        deadline = time.monotonic() + 60
        last = None
        while len(seen) < 3 and time.monotonic() < deadline:  # three fresh reports
            node = cluster.metrics("/nodes")["items"][0]
            taken = parse_epoch(node["timestamp"])
            assert taken is not None
            window = float(node["window"].rstrip("s"))
            if node["timestamp"] != last and taken - window > stat.samples[0][0]:
                last = node["timestamp"]
                seen.append((cores(node["usage"]["cpu"]), stat.cores_between(taken - window,
                                                                             taken)))
            time.sleep(1)
    finally:
        stat.stop.set()
    assert len(seen) == 3, "no fresh usage reports within a minute"
    print("node CPU (agent, /proc/stat) in cores:", seen)
    # Within a few percent of the machine (the two samplers are not perfectly aligned).
    ncpu = os.cpu_count() or 1
    assert all(abs(agent - proc) <= 0.05 * ncpu for agent, proc in seen), seen
    pods = cluster.cox("top", "pods", "--containers").splitlines()
    assert pods[0].split() == ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]
    assert any(line.split()[:2] == ["burner", "app"] for line in pods[1:])
    nodes = cluster.cox("top", "nodes").splitlines()
    assert nodes[0].split()[0] == "NAME" and len(nodes) == 2
