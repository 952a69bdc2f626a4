"""netproxy sync time: full syncs and Endpoints-change-to-live-rule latency.

Runs in a network namespace it creates (``cxnp-bench-<random>``) and removes,
so the host's rules are never touched. For each service count:

* full sync (cold): plan + encode + one transaction replacing the table,
  from a fresh encoder into an empty namespace — what a proxy start costs;
* full sync (warm): the whole-table replace after one Endpoints change, with
  the encoder cache of the previous sync (the fallback path);
* 1 change (edit): plan + diff + the incremental transaction after one
  Endpoints change — what a normal sync costs;
* change to live: the real proxy loop (list+watch caches, debounce 0) fed by
  an in-memory API; the clock starts when an Endpoints update is published
  and stops when the new endpoint's chain is visible in the kernel through
  a separate netlink query.

Each service has one TCP port and two ready endpoints.

    sudo .venv/bin/python -m tests.bench.netproxy_bench [--services 10,1000,5000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time

from netproxy.plan import build_plan
from netproxy.proxy import ProxyConfig, ServiceProxy
from netproxy.table import NftTable
from netproxy.testing import FakeApi

TABLE = "cxnp-bench"


def service(i: int) -> dict:
    return {"metadata": {"name": f"svc-{i}", "namespace": "bench"},
            "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                     "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}


def endpoints(i: int, generation: int = 0) -> dict:
    second = f"10.245.{(i + generation) // 250 % 256}.{(i + generation) % 250 + 1}"
    return {"metadata": {"name": f"svc-{i}", "namespace": "bench"},
            "subsets": [{"addresses": [{"ip": f"10.244.{i // 250}.{i % 250 + 1}"},
                                       {"ip": second}],
                         "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}


def syncs(n: int, runs: int, netns: str) -> tuple[list[float], list[float], list[float]]:
    """(cold full syncs, warm full replaces, incremental syncs) after one
    Endpoints change each; every figure includes computing the plan."""
    services = [service(i) for i in range(n)]
    eps = [endpoints(i) for i in range(n)]
    cold, full, edit = [], [], []
    for run in range(runs):
        table = NftTable(TABLE, netns=netns)
        try:
            start = time.perf_counter()
            table.apply(build_plan(services, eps, ["10.0.0.1"], table=TABLE))
            cold.append(time.perf_counter() - start)

            eps[run % n] = endpoints(run % n, generation=2 * run + 1)
            start = time.perf_counter()
            table.applied = None  # force the whole-table path, with a warm encoder
            table.apply(build_plan(services, eps, ["10.0.0.1"], table=TABLE))
            full.append(time.perf_counter() - start)

            eps[run % n] = endpoints(run % n, generation=2 * run + 2)
            start = time.perf_counter()
            table.apply(build_plan(services, eps, ["10.0.0.1"], table=TABLE))
            edit.append(time.perf_counter() - start)
            assert table.incremental_writes == 1
        finally:
            table.delete()
            table.close()
    return cold, full, edit


def change_to_live(n: int, runs: int, netns: str) -> list[float]:
    api = FakeApi()
    for i in range(n):
        api.put("services", service(i))
        api.put("endpoints", endpoints(i))
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
            i = (run * 7919) % n
            new = endpoints(i, generation=1000 + run)
            ip = new["subsets"][0]["addresses"][1]["ip"]
            chain = f"ep-bench/svc-{i}/tcp/http/{ip}:8080"
            start = time.perf_counter()
            api.put("endpoints", new)
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
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    print("reproduce: sudo .venv/bin/python -m tests.bench.netproxy_bench "
          f"--services {args.services} --runs {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
