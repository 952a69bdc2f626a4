"""Chaos: many watches while writers create objects through every master and
the leader is killed twice.

Model: 4 namespaces; 20 writers (spread over the masters) create ConfigMaps,
each in its writer's namespace; 200 watchers (50 per namespace, spread over
the masters) watch their namespace from one starting revision. A broken
stream is resumed from the last revision seen (bookmarks included) through
any master; a 410 would force a re-list (counted: it must not happen within
the store's history window).

Verdict, against the final state (ConfigMaps are only created, so each one's
resourceVersion is its creation's revision): every watcher saw an ADDED event
for every ConfigMap of its namespace created after its start, exactly once,
in revision order, and nothing else.
"""

from __future__ import annotations

import os
import threading
import time

import pytest
import requests

from coxapi import errors
from coxapi.client import Client
from tests.chaos.workload import applied, configmap
from tests.masters import MasterCluster
from tests.support import wait_until

pytestmark = pytest.mark.chaos

NAMESPACES = [f"w{i}" for i in range(4)]
WATCHERS = int(os.environ.get("COX_CHAOS_WATCHERS", "200"))
WRITERS = 20
SECONDS = float(os.environ.get("COX_CHAOS_WATCH_SECONDS", "30"))


class Watcher(threading.Thread):
    def __init__(self, client: Client, namespace: str, start: str) -> None:
        super().__init__(daemon=True)
        self.client, self.namespace, self.last = client, namespace, start
        self.seen: list[tuple[int, str, str]] = []  # (revision, type, name)
        self.resumes = self.relists = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                for kind, obj in self.client.watch("ConfigMap", self.namespace,
                                                   resource_version=self.last,
                                                   timeout_seconds=5):
                    rv = obj["metadata"]["resourceVersion"]
                    if kind != "BOOKMARK":
                        self.seen.append((int(rv), kind, obj["metadata"]["name"]))
                    self.last = rv
            except errors.Gone:
                self.relists += 1
                self.last = self.client.list("ConfigMap", self.namespace)["metadata"][
                    "resourceVersion"]
            except (errors.ApiError, errors.ClusterUnreachable, requests.RequestException):
                self.resumes += 1
                self.stop_event.wait(0.1)


class CreateWriter(threading.Thread):
    def __init__(self, client: Client, namespace: str, wid: int) -> None:
        super().__init__(daemon=True)
        self.client, self.namespace, self.wid = client, namespace, wid
        self.stop_event = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            cm = configmap(f"c{self.wid}-{i}", {"i": str(i)})
            cm["metadata"]["namespace"] = self.namespace
            try:
                self.client.create(cm)
            except (errors.ApiError, errors.ClusterUnreachable):
                pass  # the next name; an unknown outcome shows in the final state
            i += 1
            self.stop_event.wait(0.2)


def first_difference(a: list, b: list) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)))


def test_every_watcher_sees_every_event_once_in_order_across_leader_kills(tmp_path):
    mc = MasterCluster.create(tmp_path)
    threads: list = []
    try:
        admin = mc.client()
        for ns in NAMESPACES:
            admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        start = admin.list("ConfigMap", NAMESPACES[0])["metadata"]["resourceVersion"]
        urls = [m.url for m in mc.masters]

        def rotated(k: int) -> list[str]:  # first choice spreads; the rest are failover
            return urls[k % 3:] + urls[:k % 3]

        watchers = [Watcher(Client(rotated(k), mc.token, ca_file=mc.ca_file, timeout=5),
                            NAMESPACES[k % len(NAMESPACES)], start) for k in range(WATCHERS)]
        writers = [CreateWriter(Client(rotated(k), mc.token, ca_file=mc.ca_file, timeout=5),
                                NAMESPACES[k % len(NAMESPACES)], k) for k in range(WRITERS)]
        threads = [*watchers, *writers]
        for t in threads:
            t.start()
        began = time.monotonic()
        for kill in range(2):
            wait_until(lambda k=kill: time.monotonic() - began >= SECONDS * (k + 1) / 3,
                       SECONDS, 0.1, "the time of the next kill")
            leader = wait_until(mc.leader, 15, 0.05, "a leader")
            assert leader.proc is not None
            leader.proc.kill()
            new = wait_until(lambda m=leader: (ld := mc.leader()) and ld is not m and ld, 15,
                             0.05, "a new leader")
            leader.start()
            target = applied(new, mc.token)
            wait_until(lambda m=leader, t=target: applied(m, mc.token) >= t, 30, 0.1,
                       f"{leader.name} to catch up")
        wait_until(lambda: time.monotonic() - began >= SECONDS, SECONDS, 0.1, "the run's end")
        for w in writers:
            w.stop_event.set()
        for w in writers:
            w.join(15)

        truth: dict[str, list[tuple[int, str, str]]] = {}
        for ns in NAMESPACES:
            items = admin.list("ConfigMap", ns)["items"]
            truth[ns] = sorted((int(c["metadata"]["resourceVersion"]), "ADDED",
                                c["metadata"]["name"]) for c in items
                               if int(c["metadata"]["resourceVersion"]) > int(start))
        assert all(truth.values()), "no ConfigMap was created in some namespace"
        wait_until(lambda: all(len(w.seen) >= len(truth[w.namespace]) for w in watchers), 60,
                   0.2, "every watcher to receive every event")
        for w in watchers:
            w.stop_event.set()
        for w in watchers:
            w.join(10)
        for w in watchers:
            assert w.relists == 0, f"a watcher of {w.namespace} had to re-list"
            want = truth[w.namespace]
            assert w.seen == want, (f"a watcher of {w.namespace}: {len(w.seen)} events, "
                                    f"expected {len(want)}; first difference at "
                                    f"{first_difference(w.seen, want)}")
        events = sum(len(w.seen) for w in watchers)
        print(f"\nchaos: {WATCHERS} watchers, {WRITERS} writers, {SECONDS:.0f}s, 2 leader kills: "
              f"{sum(len(v) for v in truth.values())} objects, {events} events checked, "
              f"{sum(w.resumes for w in watchers)} resumed streams, 0 re-lists")
    except BaseException:
        print(mc.logs())
        raise
    finally:
        for t in threads:
            t.stop_event.set()
        mc.stop()
