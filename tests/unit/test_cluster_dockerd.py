"""A node's dockerd readiness wait (localcluster.dockerd.wait_ready)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import docker

from localcluster import dockerd
from localcluster.spec import ClusterSpec


class _Pinging:
    closed = False

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def test_a_dockerd_that_fails_while_the_client_is_made_is_waited_for(tmp_path, monkeypatch):
    # docker.DockerClient asks the daemon its API version as it is made: a
    # dockerd still starting fails there, and that must count as "not yet".
    node = dataclasses.replace(ClusterSpec(dir=tmp_path).all_nodes()[0], run_dir=tmp_path)
    Path(node.docker_socket).touch()
    made = []

    def client(n, timeout=30.0):
        made.append(n)
        if len(made) < 3:
            raise docker.errors.DockerException("Error while fetching server API version")
        return _Pinging()

    monkeypatch.setattr(dockerd, "client", client)
    waited = dockerd.wait_ready(node, os.getpid(), timeout=10)
    assert len(made) == 3 and waited >= 0


def test_restarting_a_dead_dockerd_keeps_its_containers_and_images(tmp_path, monkeypatch):
    # A node that comes back (its dockerd killed) keeps its data root, as after
    # a reboot, so its agent finds the stale containers; only `down` wipes it.
    from localcluster.machinery import LocalCluster

    spec = dataclasses.replace(ClusterSpec(dir=tmp_path / "c", run_root=tmp_path / "run"),
                               nodes=1)
    node = spec.node(1)
    monkeypatch.setattr(dockerd, "cgroup_pids", lambda _parent: set())
    monkeypatch.setattr(dockerd.procs, "pids_mentioning", lambda _root: [])
    monkeypatch.setattr(dockerd.procs, "start", lambda argv, log: 4242)
    kept = node.docker_data_root / "containers" / "abc" / "config.v2.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("{}")
    node.dockerd_pidfile.parent.mkdir(parents=True)
    node.dockerd_pidfile.write_text("1")
    LocalCluster(spec)._start_dockerd("n1")
    assert kept.read_text() == "{}"
    assert not node.dockerd_pidfile.exists()
    dockerd.reap(node)  # what `down` does
    assert not node.docker_data_root.exists()
