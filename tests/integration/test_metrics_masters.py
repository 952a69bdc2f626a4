"""Prometheus /metrics of real master processes: the leader shows its Raft state,
commit and journal sync latency, its controllers' queues and reconciles; the
read-only monitoring token (DIR/metrics.token) reads /metrics and nothing else."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from coxapi import errors
from coxapi.client import Client
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def masters(tmp_path_factory):
    mc = MasterCluster.create(tmp_path_factory.mktemp("masters"))
    try:
        yield mc
    finally:
        print(mc.logs())
        mc.stop()


def scrape(url: str, token: str, ca_file: str) -> dict:
    client = Client([url], token, timeout=10, ca_file=ca_file)
    try:
        text = client.request("GET", "/metrics")
    finally:
        client.close()
    return {f.name: f for f in text_string_to_metric_families(text)}


def value(fams: dict, family: str, sample: str, **labels: str) -> float:
    return next(s.value for s in fams[family].samples
                if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def test_the_leader_reports_raft_state_latencies_and_controllers(masters):
    client = masters.client()
    for i in range(5):
        client.create({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": f"cm{i}", "namespace": "default"}})
    leader = masters.leader()
    assert leader is not None
    fams = wait_until(lambda: (lambda f: f if "workqueue_depth" in f and
                               f["workqueue_depth"].samples else None)(
        scrape(leader.url, masters.token, masters.ca_file)), 30, 0.5, "the controllers' queues")
    assert value(fams, "raft_role", "raft_role", role="leader") == 1
    assert value(fams, "raft_term", "raft_term") >= 1
    assert value(fams, "raft_applied_index", "raft_applied_index") >= \
        value(fams, "raft_commit_index", "raft_commit_index") - 5
    assert value(fams, "raft_commit_duration_seconds", "raft_commit_duration_seconds_count") >= 5
    assert value(fams, "raft_journal_sync_duration_seconds",
                 "raft_journal_sync_duration_seconds_count") >= 1
    queues = {s.labels["name"] for s in fams["workqueue_depth"].samples}
    assert {"scheduler", "replicaset-controller"} <= queues, queues
    assert "controller_reconcile_duration_seconds" in fams
    first = scrape(masters.masters[0].url, masters.token, masters.ca_file)  # the client's writes went there
    assert value(first, "apiserver_request", "apiserver_request_total",
                 verb="POST", resource="configmaps", code="201") == 5


def test_the_monitoring_token_reads_metrics_only(masters):
    token = (masters.dir / "metrics.token").read_text().strip()
    url = masters.masters[0].url
    assert "raft_role" in scrape(url, token, masters.ca_file)
    client = Client([url], token, timeout=10, ca_file=masters.ca_file)
    with pytest.raises(errors.Forbidden):
        client.list("Pod", namespace="default")
    client.close()
