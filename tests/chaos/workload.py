"""The workload chaos scenarios share: writers that record a history
(tests/chaos/history.py), the frame of a scenario run with them, and reads of
each master's own replica."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from coxapi import errors
from coxapi.client import Client
from tests.chaos import history as H
from tests.masters import Master, MasterCluster
from tests.support import wait_until

COUNTER = "counter"


def configmap(name: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"}, "data": data}


class Writer(threading.Thread):
    def __init__(self, client: Client, wid: str, hist: H.History) -> None:
        super().__init__(daemon=True)
        self.client, self.wid, self.hist = client, wid, hist
        self.stop_event = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop_event.is_set():
            if i % 2 == 0:
                self._create(f"{self.wid}-{i}", {"writer": self.wid, "i": str(i)})
            else:
                self._increment()
            i += 1

    def _create(self, name: str, data: dict[str, str]) -> None:
        sent = time.monotonic()
        try:
            obj = self.client.create(configmap(name, data))
            self.hist.created(name, data, obj["metadata"]["resourceVersion"], sent,
                              time.monotonic())
        except errors.OutcomeUnknown:
            self.hist.create_unknown(name)
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)  # refused (its master is down or leaderless)

    def _increment(self) -> None:
        try:
            cm = self.client.get("ConfigMap", COUNTER, "default")
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)
            return
        cm["data"]["n"] = str(int(cm["data"]["n"]) + 1)
        sent = time.monotonic()
        try:
            obj = self.client.update(cm)
            self.hist.incremented(obj["metadata"]["resourceVersion"], sent, time.monotonic())
        except errors.OutcomeUnknown:
            self.hist.increment_unknown()
        except errors.Conflict:
            pass  # another writer won this round: nothing was written
        except (errors.ApiError, errors.ClusterUnreachable):
            self.stop_event.wait(0.05)


class Writers:
    """The writers of one scenario, all recording into one history."""

    def __init__(self) -> None:
        self.hist = H.History()
        self.started: list[Writer] = []

    def start(self, client: Client, wid: str) -> None:
        w = Writer(client, wid, self.hist)
        w.start()
        self.started.append(w)

    def start_on(self, mc: MasterCluster, masters: Iterable[Master], per_master: int,
                 timeout: float) -> None:
        """``per_master`` writers on each of ``masters``, each talking to its own
        master only (every outcome belongs to one master)."""
        for m in masters:
            for k in range(per_master):
                self.start(mc.client_at(m, timeout=timeout), f"{m.name}w{k}")

    def tell_stop(self) -> None:
        for w in self.started:
            w.stop_event.set()

    def stop(self) -> None:
        """Stopped, their last outcomes recorded (before the history's verdict)."""
        self.tell_stop()
        for w in self.started:
            w.join(15)


@contextmanager
def history_run(mc: MasterCluster) -> Iterator[Writers]:
    """The frame of a scenario judged by its history, on a started ``mc``: the
    shared counter created, no writer started yet; the masters' logs printed
    when it fails; the writers told to stop and the masters stopped at the end."""
    writers = Writers()
    try:
        mc.client().create(configmap(COUNTER, {"n": "0"}))
        yield writers
    except BaseException:
        print(mc.logs())
        raise
    finally:
        writers.tell_stop()
        mc.stop()


def live_pods(client: Client) -> set[str]:
    pods = client.list("Pod", "default", label_selector="app=keep")["items"]
    return {p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp")}


def applied(m: Master, token: str) -> int:
    return int(m.raft_status(token)["applied_index"])


def snapshot(client: Client) -> tuple[str, dict[str, dict]]:
    """The master's own replica, by name: a consistent list, which that master
    serves from its own replica once it has applied everything committed when
    it was asked (a resourceVersion=0 list reports its cache's revision, which
    moves only with ConfigMap events and so may stay below the store's)."""
    listed = client.request("GET", "/api/v1/namespaces/default/configmaps")
    return (listed["metadata"]["resourceVersion"],
            {cm["metadata"]["name"]: cm for cm in listed["items"]})


def delete_pod(client: Client, name: str) -> bool:
    try:
        client.delete("Pod", name, "default")
    except errors.NotFound:
        pass  # an earlier attempt whose answer was lost deleted it
    return True


def caught_up(clients: dict[str, Client], revision: int) -> dict[str, dict[str, dict]]:
    """Each master's ConfigMaps once its replica has applied ``revision``
    (ConfigMaps no longer change then; leases and pods still may)."""
    snaps = {name: snapshot(c) for name, c in clients.items()}
    behind = {name: rv for name, (rv, _) in snaps.items() if int(rv) < revision}
    if behind:
        raise AssertionError(f"behind revision {revision}: {behind}")  # reported at the deadline
    return {name: objs for name, (_, objs) in snaps.items()}


def check_history(hist: H.History, clients: dict[str, Client]) -> dict[str, dict[str, dict]]:
    """The verdict over every master, once the writers have stopped and every
    master has applied what was committed by then: every acknowledged create
    with its content, the counter within its bounds, no resourceVersion given
    twice, identical ConfigMaps. Returns them per master."""
    first = next(iter(clients.values()))  # a consistent list: at least every commit so far
    committed = int(first.request("GET", "/api/v1/namespaces/default/configmaps",
                                  params={"limit": "1"})["metadata"]["resourceVersion"])
    stores = wait_until(lambda: caught_up(clients, committed), 30, 0.1,
                        f"every master to apply revision {committed}")
    for name, store in stores.items():
        data = {n: cm.get("data", {}) for n, cm in store.items()}
        lost = H.lost_creates(hist, data)
        assert not lost, f"{name} lost acknowledged creates: {lost[:10]}"
        problem = H.counter_problem(hist, int(store[COUNTER]["data"]["n"]))
        assert problem is None, f"{name}: {problem}"
    assert not H.reused_versions(hist), "a resourceVersion was handed out twice"
    diffs = H.store_differences(stores)
    assert not diffs, f"the masters' stores differ on {diffs[:10]}"
    return stores
