"""A long-running client (a node agent) started with one master keeps reaching
the cluster after that master is removed and killed: it learns the masters from
the ``kubernetes`` Endpoints, which follow the Raft membership
(coxapi/discovery.py, docs/membership.md)."""

from __future__ import annotations

import pytest

from coxapi import discovery
from coxapi.client import Client
from tests.chaos.workload import configmap
from tests.integration.test_master_membership import cox, live
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]


def test_a_client_started_with_m1_only_reaches_m4_after_m1_is_removed_and_killed(tmp_path):
    mc = MasterCluster.create(tmp_path)
    m1, m2, m3 = mc.masters
    client = Client([m1.url], mc.token, timeout=10, ca_file=mc.ca_file, discover_interval=0.5)
    try:
        wait_until(lambda: client.create(configmap("first", {})), 30, what="a first write")
        m4 = mc.start_joining("m4", [m1, m2, m3])
        cox(mc, "master", "add", "--address", m4.raft, "--api", m4.url, servers=[m1, m2, m3])

        def knows_m4() -> bool:
            client.list("ConfigMap", "default")
            return m4.url in client.servers
        wait_until(knows_m4, 30, what="the client to learn m4 from the cluster")

        cox(mc, "master", "remove", m1.raft, servers=[m1, m2, m3, m4])
        ep = wait_until(lambda: (lambda e: e if m1.raft not in discovery.recorded_masters(e)
                                 else None)(mc.client_at(m4).get("Endpoints", "kubernetes")),
                        20, what="the endpoints to drop the removed m1")
        assert set(discovery.recorded_masters(ep)) == {m2.raft, m3.raft, m4.raft}
        for gone in (m1, m2):  # the one it was started with, and another
            assert gone.proc is not None
            gone.proc.kill()
        assert live(mc) == [m3, m4]
        wait_until(lambda: client.create(configmap("after", {})), 30,
                   what="a write through the client after m1 and m2 are gone")

        def put_m1_last() -> bool:
            # The write may follow a refresh refused while m4 was being elected:
            # the next request refreshes again (coxapi/client.py: discover).
            client.list("ConfigMap", "default")
            return client.servers[-1] == m1.url and {m3.url, m4.url} <= set(client.servers)
        # m1, the configured master, is kept as a last resort
        wait_until(put_m1_last, 10, what="the client to refresh its masters, m1 last")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        client.close()
        mc.stop()
