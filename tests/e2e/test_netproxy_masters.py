"""netproxy against three real masters: list+watch through coxapi's Client,
real nftables in a network namespace, and the Raft leader killed while the
proxy is following changes."""

from __future__ import annotations

import os
import threading

import pytest

from coxapi.client import Client
from netproxy.proxy import ProxyConfig, ServiceProxy
from tests.e2e.test_netproxy_e2e import (  # the same namespaces and pod servers
    CLUSTER_IP,
    NODE_IP,
    TCP_PORT,
    Topology,
    answers_from,
    nft_list,
)
from tests.e2e.test_netproxy_e2e import topo as topo  # noqa: F401 - module fixture
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="needs root (network namespaces)")]


@pytest.fixture
def masters(tmp_path):
    mc = MasterCluster.create(tmp_path)
    yield mc
    mc.stop()


def endpoints_obj(ips: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "web", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": ip} for ip in ips],
                         "ports": [{"name": "http", "port": TCP_PORT, "protocol": "TCP"}]}]}


def test_proxy_follows_the_api_across_a_leader_failover(topo: Topology, masters):  # noqa: F811
    writer = masters.client()
    # No selector: the endpoints controller leaves this Endpoints object to us.
    writer.create({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"clusterIP": CLUSTER_IP, "ports": [
                       {"name": "http", "port": 80, "targetPort": TCP_PORT}]}})
    writer.create(endpoints_obj([topo.pod_ip(0)]))

    # The proxy talks to the leader first, so killing the leader cuts its watches.
    leader = masters.leader()
    assert leader is not None
    servers = [leader.url] + [m.url for m in masters.masters if m is not leader]
    proxy = ServiceProxy(Client(servers, masters.token, timeout=5, ca_file=masters.ca_file),
                         [NODE_IP],
                         ProxyConfig(table="cxnp-proxy", debounce=0.02, watch_timeout=5),
                         netns=topo.node)
    stop = threading.Event()
    thread = threading.Thread(target=proxy.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: answers_from(topo.client, CLUSTER_IP, 80) == "p0", 20,
                   what="ClusterIP answered by p0 (list)")
        current = writer.get("endpoints", "web")
        current["subsets"] = endpoints_obj([topo.pod_ip(1)])["subsets"]
        writer.update(current)
        wait_until(lambda: answers_from(topo.client, CLUSTER_IP, 80) == "p1", 20,
                   what="ClusterIP moved to p1 (watch)")

        assert masters.leader() is leader
        leader.proc.kill()
        wait_until(lambda: masters.leader() not in (None, leader), 30, 0.2,
                   what="a new leader")

        def move_to_p2() -> bool:
            cur = writer.get("endpoints", "web")
            cur["subsets"] = endpoints_obj([topo.pod_ip(2)])["subsets"]
            writer.update(cur)
            return True

        wait_until(move_to_p2, 30, 0.2, what="endpoints update after failover")
        wait_until(lambda: answers_from(topo.client, CLUSTER_IP, 80) == "p2", 30,
                   what="ClusterIP moved to p2 after the leader died")
        assert proxy.services.relists >= 2 and proxy.endpoints.relists >= 2  # re-listed
    finally:
        stop.set()
        thread.join(10)
        proxy.cleanup()
    assert "cxnp-proxy" not in nft_list(topo.node)
