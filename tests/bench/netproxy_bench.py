"""netproxy sync time: full syncs and Endpoints-change-to-live-rule latency.

Runs in a network namespace it creates (``cxnp-bench-<random>``) and removes,
so the host's rules are never touched. For each service count:

* full sync (cold): plan + encode + one transaction replacing the table,
  from a fresh encoder into an empty namespace — what a proxy start costs;
* full sync (warm): the whole-table replace after one Endpoints change, with
  the encoder cache of the previous sync (the fallback path);
* 1 change (edit): plan (the changed Service only, as the proxy hands it
  over) + edits + the incremental transaction after one Endpoints change —
  what a normal sync costs;
* change to live: the real proxy loop (list+watch caches, debounce 0) fed by
  an in-memory API; the clock starts when an Endpoints update is published
  and stops when the new endpoint's chain is visible in the kernel through
  a separate netlink query.

Then one Service change with N Services present (issue 8: <= 50 ms at 5,000),
as the proxy does it (its ``Planner`` keeps each Service's part of the last
plan and the table's contents, and is handed only the changed Service's
objects; plan + edits (from the planner's change) + the transaction):

* add a Service (its Endpoints already there), and
* change a Service's port (80 -> 81: its map element out and in),

each timed as a sync and change-to-live (the proxy loop; the clock stops
when the new service chain, or the new port's, is in the kernel).

Each service has one TCP port and two ready endpoints.

    sudo .venv/bin/python -m tests.bench.netproxy_bench [--services 10,1000,5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import copy
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from netproxy.plan import Planner
from netproxy.proxy import ProxyConfig, ServiceProxy
from netproxy.table import NftTable
from netproxy.testing import FakeApi

TABLE = "cxnp-bench"


def service(i: int) -> dict:
    return {"metadata": {"name": f"svc-{i}", "namespace": "bench"},
            "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def unnamed(i: int, port: int) -> dict:
    """A service whose one port has no name, so its chains are named by port."""
    svc = service(i)
    svc["spec"]["ports"] = [{"port": port, "targetPort": 8080}]
    return svc


def endpoints(i: int, generation: int = 0) -> dict:
    second = f"10.245.{(i + generation) // 250 % 256}.{(i + generation) % 250 + 1}"
    return {"metadata": {"name": f"svc-{i}", "namespace": "bench"},
            "subsets": [{"addresses": [{"ip": f"10.244.{i // 250}.{i % 250 + 1}"},
                                       {"ip": second}],
                         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}


def sync(table: NftTable, planner: Planner, services: list[dict], eps: list[dict]) -> None:
    """As the proxy's first sync: plan from every object, then apply."""
    table.apply(planner.plan(services, eps, ["10.0.0.1"]), planner.change)


def sync_one(table: NftTable, planner: Planner, services: list[dict], eps: list[dict],
             i: int) -> None:
    """As the proxy syncs after service ``i`` or its Endpoints changed: the
    planner is handed that Service's objects only, then the table its change."""
    key = ("bench", f"svc-{i}")
    table.apply(planner.update({key: ((services[i],), eps[i])}, ["10.0.0.1"]), planner.change)


def syncs(n: int, runs: int, netns: str) -> tuple[list[float], list[float], list[float]]:
    """(cold full syncs, warm full replaces, incremental syncs) after one
    Endpoints change each; every figure includes computing the plan."""
    services = [service(i) for i in range(n)]
    eps = [endpoints(i) for i in range(n)]
    cold, full, edit = [], [], []
    for run in range(runs):
        table = NftTable(TABLE, netns=netns)
        planner = Planner(TABLE)  # as the proxy plans: a fresh one is build_plan
        try:
            start = time.perf_counter()
            sync(table, planner, services, eps)
            cold.append(time.perf_counter() - start)

            eps[run % n] = endpoints(run % n, generation=2 * run + 1)
            start = time.perf_counter()
            table.applied = None  # force the whole-table path, with a warm encoder
            sync_one(table, planner, services, eps, run % n)
            full.append(time.perf_counter() - start)

            eps[run % n] = endpoints(run % n, generation=2 * run + 2)
            start = time.perf_counter()
            sync_one(table, planner, services, eps, run % n)
            edit.append(time.perf_counter() - start)
            assert table.incremental_writes == 1
        finally:
            table.delete()
            table.close()
    return cold, full, edit


def service_syncs(n: int, runs: int, netns: str) -> tuple[list[float], list[float]]:
    """(add a Service, change a Service's port): plan + edits + transaction, as
    the proxy's planner does them after the first full sync."""
    services = [service(i) for i in range(n)]
    eps = [endpoints(i) for i in range(n + runs)]  # the new services' already there
    added, ported = [], []
    table = NftTable(TABLE, netns=netns)
    planner = Planner(TABLE)
    try:
        sync(table, planner, services, eps)
        for run in range(runs):
            services.append(service(n + run))
            start = time.perf_counter()
            sync_one(table, planner, services, eps, n + run)
            added.append(time.perf_counter() - start)

            i = (run * 7919) % n
            services[i] = copy.deepcopy(services[i])
            services[i]["spec"]["ports"][0]["port"] = 81 + run
            start = time.perf_counter()
            sync_one(table, planner, services, eps, i)
            ported.append(time.perf_counter() - start)
        assert table.incremental_writes == 2 * runs
    finally:
        table.delete()
        table.close()
    return added, ported


def endpoints_change(api: FakeApi, n: int, run: int) -> str:
    """Publish a new endpoint for one service; the chain that shows it is live."""
    i = (run * 7919) % n
    new = endpoints(i, generation=1000 + run)
    api.put("endpoints", new)
    return f"ep-bench/svc-{i}/tcp/http/{new['subsets'][0]['addresses'][1]['ip']}:8080"


def service_added(api: FakeApi, n: int, run: int) -> str:
    api.put("services", service(n + run))  # its Endpoints were put beforehand
    return f"svc-bench/svc-{n + run}/tcp/http"


def port_changed(api: FakeApi, n: int, run: int) -> str:
    i = (run * 7919) % n
    api.put("services", unnamed(i, 81 + run))
    return f"svc-bench/svc-{i}/tcp/{81 + run}"


def change_to_live(n: int, runs: int, netns: str,
                   change: Callable[[FakeApi, int, int], str] = endpoints_change) -> list[float]:
    api = FakeApi()
    for i in range(n):
        api.put("services", unnamed(i, 80) if change is port_changed else service(i))
        api.put("endpoints", endpoints(i))
    for run in range(runs):
        api.put("endpoints", endpoints(n + run))
    table = NftTable(TABLE, netns=netns)
    probe = NftTable(TABLE, netns=netns)  # a second socket: sees only committed state
    proxy = ServiceProxy(api, ["10.0.0.1"], ProxyConfig(table=TABLE, debounce=0.0),
                         netns=netns, table=table)
    stop = threading.Event()
    thread = threading.Thread(target=proxy.run, args=(stop,), daemon=True)
    thread.start()
    times = []
    try:
        deadline = time.monotonic() + 120
        while not proxy.synced.is_set():
            if time.monotonic() > deadline:
                raise RuntimeError("proxy never synced")
            time.sleep(0.01)
        for run in range(runs):
            start = time.perf_counter()
            chain = change(api, n, run)
            while not probe.has_chain(chain):
                if time.perf_counter() - start > 60:
                    raise RuntimeError(f"{chain} never appeared")
                time.sleep(0.001)
            times.append(time.perf_counter() - start)
    finally:
        stop.set()
        api.close()
        thread.join(10)
        table.delete()
        table.close()
        probe.close()
    return times


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--services", default="10,1000,5000")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("netproxy_bench: needs root (it creates a network namespace)", file=sys.stderr)
        return 2
    netns = f"cxnp-bench-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        print(f"netproxy sync benchmark, medians of {args.runs} runs, netns {netns}")
        print(f"{'services':>9} {'full sync cold':>16} {'full sync warm':>16} "
              f"{'1 change (edit)':>16} {'change→live':>14}")
        for n in (int(x) for x in args.services.split(",")):
            cold, full, edit = syncs(n, args.runs, netns)
            live = change_to_live(n, args.runs, netns)
            print(f"{n:>9} {ms(cold):>16} {ms(full):>16} {ms(edit):>16} {ms(live):>14}",
                  flush=True)
        print("\none Service change with N services present (target at 5,000: <= 50 ms)")
        print(f"{'services':>9} {'add (sync)':>14} {'add→live':>14} {'port (sync)':>14} "
              f"{'port→live':>14}")
        for n in (int(x) for x in args.services.split(",")):
            added, ported = service_syncs(n, args.runs, netns)
            add_live = change_to_live(n, args.runs, netns, service_added)
            port_live = change_to_live(n, args.runs, netns, port_changed)
            print(f"{n:>9} {ms(added):>14} {ms(add_live):>14} {ms(ported):>14} "
                  f"{ms(port_live):>14}", flush=True)
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    print("reproduce: sudo .venv/bin/python -m tests.bench.netproxy_bench "
          f"--services {args.services} --runs {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
