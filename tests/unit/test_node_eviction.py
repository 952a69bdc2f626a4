"""emptyDir sizeLimit eviction: the decision (pure) and the measuring (du);
the agent evicting a pod is in test_node_agent.py."""

from __future__ import annotations

import os

from node import podspec
from node.eviction import EmptyDirMonitor, Eviction, decide, disk_usage, evicted_status
from node.testing import make_pod

MiB = 1024 * 1024


def limited_pod(phase="Running", **empty_dir):
    pod = make_pod("web", "n1", [{"name": "app", "image": "busybox:test"}],
                   volumes=[{"name": "scratch", "emptyDir": empty_dir or {"sizeLimit": "1Mi"}},
                            {"name": "plain", "emptyDir": {}}])
    pod["metadata"]["uid"] = "u1"
    pod["status"] = {"phase": phase}
    return pod


def test_a_pod_over_an_empty_dir_limit_is_evicted_naming_the_volume_and_limit():
    assert decide(limited_pod(), {"scratch": 2 * MiB, "plain": 50 * MiB}) == Eviction(
        "scratch", 'Usage of EmptyDir volume "scratch" exceeds the limit "1Mi".')


def test_at_the_limit_unmeasured_unlimited_or_finished_pods_are_kept():
    assert decide(limited_pod(), {"scratch": MiB}) is None  # exceeds means more than
    assert decide(limited_pod(), {}) is None
    assert decide(limited_pod(), {"plain": 10 * MiB}) is None
    assert decide(limited_pod(phase="Failed"), {"scratch": 2 * MiB}) is None
    terminating = limited_pod()
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert decide(terminating, {"scratch": 2 * MiB}) is None
    assert decide(limited_pod(sizeLimit="0"), {"scratch": 2 * MiB}) is None


def test_memory_medium_follows_the_same_rule():
    # tmpfs of sizeLimit bytes: in practice usage cannot pass the limit, but the
    # rule is the kubelet's for every medium.
    pod = limited_pod(medium="Memory", sizeLimit="1Mi")
    assert decide(pod, {"scratch": MiB}) is None
    assert decide(pod, {"scratch": MiB + 4096}) is not None


def test_evicted_status_is_failed_with_reason_and_a_disruption_condition():
    old = {"phase": "Running", "podIP": "10.244.1.2",
           "conditions": [{"type": "Ready", "status": "True"}]}
    st = evicted_status(old, "too big", "2026-12-01T00:00:00Z")
    assert (st["phase"], st["reason"], st["message"], st["podIP"]) == \
        ("Failed", "Evicted", "too big", "10.244.1.2")
    assert st["conditions"][-1] == {
        "type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
        "message": "too big", "lastProbeTime": None,
        "lastTransitionTime": "2026-12-01T00:00:00Z"}
    assert old["phase"] == "Running"  # not modified


def test_disk_usage_counts_blocks_once_per_inode_and_does_not_follow_symlinks(tmp_path):
    empty = disk_usage(str(tmp_path))
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (sub / "f").write_bytes(os.urandom(2 * MiB))
    os.link(sub / "f", tmp_path / "hard")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "big").write_bytes(os.urandom(4 * MiB))
    os.symlink(outside, tmp_path / "link")
    used = disk_usage(str(tmp_path))
    assert 2 * MiB <= used - empty < 3 * MiB
    assert disk_usage(str(tmp_path / "gone")) == 0


def test_the_monitor_measures_limited_dirs_of_active_pods_and_wakes_on_excess(tmp_path):
    pods = [limited_pod()]
    for name in ("scratch", "plain"):
        os.makedirs(podspec.empty_dir_path(str(tmp_path), "u1", name))
    woken, measured = [], []

    def measure(path):
        measured.append(os.path.basename(path))
        return 3 * MiB
    mon = EmptyDirMonitor(str(tmp_path), lambda: pods, 10, lambda: woken.append(1), measure)
    mon.sample()
    assert measured == ["scratch"] and mon.usage("u1") == {"scratch": 3 * MiB} and woken
    pods[0]["status"]["phase"] = "Failed"
    mon.sample()
    assert mon.usage("u1") == {} and len(woken) == 1

