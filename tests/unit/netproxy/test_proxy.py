"""The proxy loop against a fake API and a fake table (no root)."""

from __future__ import annotations

import threading

import pytest

from coxapi.errors import ClusterUnreachable
from netproxy.plan import NO_ENDPOINT_SERVICES, SERVICE_IPS, StaleFlow, build_plan
from netproxy.proxy import ProxyConfig, ServiceProxy
from netproxy.testing import FakeApi, FakeTable
from tests.support import wait_until


def svc(name, ip, proto="TCP"):
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "ports": [{"name": "p", "port": 80, "protocol": proto,
                                                 "targetPort": 8080}]}}


def eps(name, ips, proto="TCP"):
    return {"metadata": {"name": name, "namespace": "default"},
            "subsets": [{"addresses": [{"ip": i} for i in ips],
                         "ports": [{"name": "p", "port": 8080, "protocol": proto}]}]}


class Harness:
    def __init__(self, debounce=0.02):
        self.api = FakeApi()
        self.table = FakeTable()
        self.flushed: list[list[StaleFlow]] = []
        self.proxy = ServiceProxy(
            self.api, ["10.0.0.1"],
            ProxyConfig(debounce=debounce, retry=(0.01, 0.05), watch_timeout=5),
            table=self.table, flush_conntrack=self._flush)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.proxy.run, args=(self.stop,), daemon=True)

    def _flush(self, flows):
        self.flushed.append(flows)
        return len(flows)

    def start(self):
        self.thread.start()
        return self

    def finish(self):
        self.stop.set()
        self.api.close()
        self.thread.join(5)
        assert not self.thread.is_alive()

    def services_map(self):
        plan = self.table.applied
        return dict(plan.map(SERVICE_IPS).elements) if plan else {}

    def backends(self, name):
        """Ready endpoint addresses of service ``name`` in the applied plan."""
        plan = self.table.applied
        if plan is None:
            return None
        return sorted(c.name.rsplit("/", 1)[1].split(":")[0] for c in plan.chains
                      if c.name.startswith(f"ep-default/{name}/"))


@pytest.fixture
def h():
    harness = Harness()
    yield harness
    harness.finish()


def test_first_sync_has_every_listed_service(h):
    h.api.put("services", svc("a", "10.96.0.1"))
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))
    h.api.put("services", svc("b", "10.96.0.2"))
    h.start()
    wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
    assert h.table.transactions == 1
    assert h.backends("a") == ["10.244.0.2"]
    assert dict(h.table.applied.map(NO_ENDPOINT_SERVICES).elements) == {
        ("10.96.0.2", "tcp", 80): "reject"}


def test_endpoints_change_reaches_the_table(h):
    h.api.put("services", svc("a", "10.96.0.1"))
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))
    h.start()
    wait_until(lambda: h.backends("a") == ["10.244.0.2"], 5, what="first endpoints")
    h.api.put("endpoints", eps("a", ["10.244.0.2", "10.244.0.3"]))
    wait_until(lambda: h.backends("a") == ["10.244.0.2", "10.244.0.3"], 5, what="second")
    h.api.delete("services", "default", "a")
    wait_until(lambda: h.services_map() == {}, 5, what="service removed")


def test_a_burst_of_changes_is_debounced_into_few_writes():
    h = Harness(debounce=0.3)
    try:
        h.api.put("services", svc("a", "10.96.0.1"))
        h.start()
        wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
        before = h.table.transactions
        for i in range(2, 52):
            h.api.put("endpoints", eps("a", [f"10.244.0.{j}" for j in range(2, i + 1)]))
        wait_until(lambda: len(h.backends("a") or []) == 50, 5, what="last state")
        assert h.table.transactions - before <= 3
    finally:
        h.finish()


def test_a_change_that_does_not_alter_the_plan_writes_nothing(h):
    h.api.put("services", svc("a", "10.96.0.1"))
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))
    h.start()
    wait_until(lambda: h.table.transactions == 1 and h.backends("a"), 5, what="first sync")
    syncs = h.proxy.stats.syncs
    labelled = svc("a", "10.96.0.1")
    labelled["metadata"]["labels"] = {"team": "x"}
    h.api.put("services", labelled)
    wait_until(lambda: h.proxy.stats.syncs > syncs, 5, what="a re-sync")
    assert h.table.transactions == 1


def test_watch_410_gone_relists_and_sees_changes_made_meanwhile(h):
    h.api.put("services", svc("a", "10.96.0.1"))
    h.start()
    wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
    lists = h.api.lists["endpoints"]
    h.api.break_watches(compact=True)
    h.api.put("endpoints", eps("a", ["10.244.0.9"]))
    wait_until(lambda: h.backends("a") == ["10.244.0.9"], 5, what="change after 410")
    assert h.api.lists["endpoints"] > lists


def test_cluster_unreachable_is_retried_until_the_api_answers(h):
    h.api.list_errors["endpoints"] = ClusterUnreachable("no API server answered")
    h.api.put("services", svc("a", "10.96.0.1"))
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))
    h.start()
    wait_until(lambda: h.api.lists["endpoints"] >= 2, 5, what="retried list")
    # never a table from half the picture: the services alone would reject "a"
    assert h.table.transactions == 0
    del h.api.list_errors["endpoints"]
    wait_until(lambda: h.backends("a") == ["10.244.0.2"], 5, what="sync after recovery")


def test_waiting_for_the_api_does_not_spin():
    h = Harness()
    h.proxy.config.resync_period = 0.05
    h.api.list_errors["endpoints"] = ClusterUnreachable("no API server answered")
    try:
        h.start()
        wait_until(lambda: h.api.lists["endpoints"] >= 3, 10, what="a few list attempts")
        assert h.proxy.stats.wakeups < 100
        assert h.table.transactions == 0
    finally:
        h.finish()


def test_failed_apply_is_retried(h):
    h.table.fail_next = 2
    h.api.put("services", svc("a", "10.96.0.1"))
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))
    h.start()
    wait_until(lambda: h.backends("a") == ["10.244.0.2"], 5, what="sync after failures")
    assert h.proxy.stats.failures == 2


def test_removed_udp_endpoint_flushes_its_conntrack_entries(h):
    h.api.put("services", svc("dns", "10.96.0.10", "UDP"))
    h.api.put("endpoints", eps("dns", ["10.244.0.2", "10.244.0.3"], "UDP"))
    h.start()
    wait_until(lambda: h.backends("dns") == ["10.244.0.2", "10.244.0.3"], 5, what="first")
    h.api.put("endpoints", eps("dns", ["10.244.0.3"], "UDP"))
    wait_until(lambda: h.flushed, 5, what="conntrack flush")
    assert h.flushed == [[StaleFlow("UDP", "10.96.0.10", 80, ("10.244.0.2", 8080))]]


def test_vanished_table_is_rewritten_at_the_periodic_check():
    h = Harness()
    h.proxy.config.resync_period = 0.1
    try:
        h.api.put("services", svc("a", "10.96.0.1"))
        h.start()
        wait_until(lambda: h.table.transactions == 1, 5, what="first sync")
        h.table.delete()  # someone ran `nft delete table`
        wait_until(lambda: h.table.transactions == 2 and h.table.present, 5, what="rewrite")
    finally:
        h.finish()


def test_stop_ends_the_loop_promptly(h):
    h.start()
    wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
    h.stop.set()
    h.thread.join(2)
    assert not h.thread.is_alive()


def test_synced_revision_is_published_only_after_the_rules_reflect_it():
    published: list[tuple[int, list[str] | None]] = []
    h = Harness()
    h.proxy.on_synced = lambda rv: published.append((rv, h.backends("a")))
    try:
        h.api.put("services", svc("a", "10.96.0.1"))
        h.api.put("endpoints", eps("a", ["10.244.0.2", "10.244.0.3"]))
        h.start()
        wait_until(lambda: h.backends("a") == ["10.244.0.2", "10.244.0.3"], 5, what="first")
        removed = h.api.put("endpoints", eps("a", ["10.244.0.2"]))
        rv = int(removed["metadata"]["resourceVersion"])
        wait_until(lambda: h.proxy.applied_revision >= rv, 5, what="the removal to be applied")
        # every revision published at or after the removal came with rules without the endpoint
        after = [backends for r, backends in published if r >= rv]
        assert after and all(b == ["10.244.0.2"] for b in after)
        assert [r for r, _ in published] == sorted(r for r, _ in published)
    finally:
        h.finish()


class PlannerSpy:
    """Records what the proxy hands its planner: every object, or only keys."""

    def __init__(self, proxy: ServiceProxy) -> None:
        self.full = 0
        self.updates: list[set] = []
        planner = proxy.planner
        plan, update = planner.plan, planner.update

        def full(*args):
            self.full += 1
            return plan(*args)

        def some(changes, *args):
            self.updates.append(set(changes))
            return update(changes, *args)
        planner.plan, planner.update = full, some  # type: ignore[method-assign]


def test_one_change_hands_the_planner_only_that_service(h):
    for i in range(20):
        h.api.put("services", svc(f"s{i}", f"10.96.0.{i + 1}"))
        h.api.put("endpoints", eps(f"s{i}", [f"10.244.0.{i + 2}"]))
    spy = PlannerSpy(h.proxy)
    h.start()
    wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
    assert spy.full == 1
    h.api.put("endpoints", eps("s7", ["10.244.1.1"]))
    wait_until(lambda: h.backends("s7") == ["10.244.1.1"], 5, what="the new endpoint")
    h.api.delete("services", "default", "s3")
    wait_until(lambda: ("10.96.0.4", "tcp", 80) not in h.services_map(), 5, what="s3 gone")
    assert spy.full == 1
    assert set().union(*spy.updates) == {("default", "s7"), ("default", "s3")}
    services, endpoints = h.api.list("services")["items"], h.api.list("endpoints")["items"]
    assert h.table.applied == build_plan(services, endpoints, ["10.0.0.1"])


def test_the_periodic_check_plans_from_every_object():
    h = Harness()
    h.proxy.config.resync_period = 0.1
    spy = PlannerSpy(h.proxy)
    try:
        h.api.put("services", svc("a", "10.96.0.1"))
        h.start()
        wait_until(lambda: spy.full >= 3, 5, what="full plans at the periodic checks")
    finally:
        h.finish()


def test_a_failed_plan_is_followed_by_one_from_every_object(h):
    h.api.put("services", svc("a", "10.96.0.1"))
    spy = PlannerSpy(h.proxy)
    h.start()
    wait_until(lambda: h.proxy.synced.is_set(), 5, what="first sync")
    update = h.proxy.planner.update

    def broken(*_):
        h.proxy.planner.update = update  # type: ignore[method-assign]
        raise OSError("injected")
    h.proxy.planner.update = broken  # type: ignore[method-assign]
    h.api.put("endpoints", eps("a", ["10.244.0.2"]))  # its key is lost with the failure
    wait_until(lambda: h.backends("a") == ["10.244.0.2"], 5, what="the endpoint after it")
    assert h.proxy.stats.failures == 1 and spy.full == 2
