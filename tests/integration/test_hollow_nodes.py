"""Hollow nodes (tests/hollow.py: the real agent over an in-memory runtime)
against three real masters: they register, heartbeat, get pods bound by the
scheduler and report them Running, so the 100-node bench keeps working."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coxapi import proxyrecord
from coxapi.client import Client
from tests.hollow import HollowNodes
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.integration
NODES = ["hollow-a", "hollow-b", "hollow-c"]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[MasterCluster, Client]]:
    mc = MasterCluster.create(tmp_path)
    nodes = None
    try:
        nodes = HollowNodes(NODES, [m.url for m in mc.masters], mc.token, tmp_path / "hollow",
                            heartbeat_period=1.0, ca_file=mc.ca_file).start()
        yield mc, mc.client()
    finally:
        if nodes is not None:
            nodes.stop()
        mc.stop()


def _running(client: Client) -> list[dict]:
    """Pods Running with every container ready, as the hollow agents report them."""
    pods = client.list("Pod", "default", label_selector="app=web")["items"]
    return [p for p in pods if (p.get("status") or {}).get("phase") == "Running"
            and all(c.get("ready") for c in p["status"].get("containerStatuses") or [{}])]


def test_hollow_nodes_register_and_run_pods(cluster: tuple[MasterCluster, Client]) -> None:
    _, client = cluster
    wait_until(lambda: {n["metadata"]["name"] for n in client.list("Node")["items"]
                        if (n.get("spec") or {}).get("podCIDR")} == set(NODES),
               30, 0.2, "hollow nodes registered with a pod CIDR")
    client.create({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "app", "image": "web:1"}]}}},
    })
    running = wait_until(lambda: len(_running(client)) == 6 and _running(client), 60, 0.2,
                         "6 pods Running and ready on hollow nodes")
    assert {p["spec"]["nodeName"] for p in running} <= set(NODES)
    assert all(p["status"]["podIP"] for p in running)
    # Heartbeats: each node's Lease renewed, its usage reported on the Node.
    leases = {lease["metadata"]["name"]: lease for lease in
              client.list("Lease", "kube-node-lease")["items"]}
    assert set(NODES) <= leases.keys()
    wait_until(lambda: all((client.get("Node", n, None).get("status") or {}).get("usage")
                           for n in NODES), 30, 0.2, "node usage reported")
    # They run no proxy: the leader's record of the proxies (what a drain reads) counts none.
    record = wait_until(lambda: client.get("Lease", proxyrecord.RECORD_NAME,
                                           proxyrecord.RECORD_NAMESPACE), 30, 0.2,
                        "the leader's record of the proxies")
    assert proxyrecord.recorded(record) == proxyrecord.Applied(live=0, lowest=0)
