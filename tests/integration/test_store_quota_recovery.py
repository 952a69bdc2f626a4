"""A full store recovers by itself (issue 9): with three real masters and a
small quota, writes are refused (507) and the NOSPACE alarm shows in the Raft
status and /readyz; node heartbeats and deletes still work at the quota; once
objects are deleted the alarm clears and new objects fit, with no manual
compaction (deletes used to move the bytes into history, counted against the
quota until they aged out after an hour)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coxapi import errors
from coxapi.client import Client
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

QUOTA = 400_000
BLOB = "x" * 30_000


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[MasterCluster, Client]]:
    mc = MasterCluster.create(tmp_path, extra=["--raft-quota-bytes", str(QUOTA)])
    try:
        yield mc, mc.client()
    finally:
        print(mc.logs())
        mc.stop()


def configmap(i: int) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"fill-{i}"},
            "data": {"blob": BLOB}}


def alarms(mc: MasterCluster) -> list[list[str]]:
    return [m.raft_status(mc.token)["alarms"] for m in mc.masters]


def heartbeat(client: Client) -> dict:
    node = client.get("nodes", "hb", namespace=None)
    node["status"] = {"conditions": [{"type": "Ready", "status": "True",
                                      "lastHeartbeatTime": datetime.now(UTC).strftime(
                                          "%Y-%m-%dT%H:%M:%SZ")}]}
    return client.update_status(node)


def test_a_full_store_keeps_heartbeats_and_recovers_once_objects_are_deleted(cluster):
    mc, client = cluster
    client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "hb"}})
    created = 0
    with pytest.raises(errors.ApiError) as full:
        while created < 100:
            client.create(configmap(created), namespace="default")
            created += 1
    assert full.value.code == 507 and created > 2
    wait_until(lambda: alarms(mc) == [["NOSPACE"]] * 3, 10, what="NOSPACE on every master")
    ready = mc.session().get(mc.masters[0].url + "/readyz", timeout=5)
    assert ready.status_code == 200 and "alarm: NOSPACE" in ready.text

    # at the quota: heartbeats and deletes still work
    for _ in range(3):
        heartbeat(client)
    for i in range(created // 2 + 1):
        client.delete("configmaps", f"fill-{i}", namespace="default")

    wait_until(lambda: alarms(mc) == [[]] * 3, 10, what="the alarm cleared on every master")
    for i in range(created, created + created // 3):
        client.create(configmap(i), namespace="default")
    heartbeat(client)
