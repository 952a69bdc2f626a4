"""What a read from the watch cache costs a master (``resourceVersion=0``, the
kind node agents and informers make): the server's CPU per read (the
process's CPU less the calling thread's) and the client's latency, against
an in-process API server on loopback (master.asgi on uvicorn, HTTPS). The
reads: a list of a namespace of one object (an endpoint drain's Endpoints
list), of 100 node Leases carrying a usage report each (its Lease list), of
one node's 30 pods among 3,000 on 100 nodes (what a node agent lists: every
namespace, ``fieldSelector=spec.nodeName=NODE``), and one Lease by name (a
drain's read of a proxy behind; a node agent's read of its Node). With
``--base REV`` the same is measured with that revision's code in a process
of its own, in turns with this tree's, and the ratios printed.

    python -m tests.bench.read_bench [--base REV] [--rounds 5] [--n 300]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from typing import Any

# what: (kind, namespace, field selector, how many it finds)
LISTS = {"one object": ("ConfigMap", "bench", None, 1),
         "100 Leases": ("Lease", "kube-node-lease", None, 100),
         "node's pods": ("Pod", None, "spec.nodeName=node-007", None)}  # pods / NODES
READS = (*LISTS, "one Lease")
LEASES, PODS, NODES = 100, 3_000, 100


def _lease(i: int) -> dict:
    # about the size of a node's Lease with its usage report of 10 pods
    usage = {f"pod-{j}": {"cpu": "12m", "memory": "31Mi", "since": "2026-12-04T10:00:00Z"}
             for j in range(10)}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": f"node-{i:03d}", "namespace": "kube-node-lease",
                         "annotations": {"bench/usage": json.dumps(usage)}},
            "spec": {"holderIdentity": f"node-{i:03d}", "leaseDurationSeconds": 40}}


def _items(client: Any, kind: str, namespace: str | None, field_selector: str | None) -> list:
    return client.list(kind, namespace, field_selector=field_selector,
                       resource_version="0")["items"]


def _one_lease(client: Any) -> list:
    return [client.get("Lease", "node-007", "kube-node-lease", resource_version="0")]


def measure(n: int, pods: int = PODS) -> dict[str, dict[str, float]]:
    """Per read: the server's CPU and the client's latency, microseconds."""
    from coxapi.client import Client
    from tests.unit.api_harness import ADMIN_TOKEN, Api

    api = Api()
    client = Client(api.url, token=ADMIN_TOKEN, ca_file=api.ca_file)
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    client.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v" * 100},
                   "metadata": {"name": "one", "namespace": "bench"}})
    for i in range(LEASES):
        client.create(_lease(i))
    for i in range(pods):
        client.create({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": f"pod-{i:04d}", "namespace": "bench",
                                    "labels": {"app": "bench"}},
                       "spec": {"nodeName": f"node-{i % NODES:03d}",
                                "containers": [{"name": "app", "image": "busybox:1.36"}]}})
    out = {}
    try:
        for what in READS:
            if what in LISTS:
                kind, ns, field_selector, want = LISTS[what]
                listed = functools.partial(_items, client, kind, ns, field_selector)
                want = pods // NODES if want is None else want
            else:
                listed, want = functools.partial(_one_lease, client), 1
            deadline = time.monotonic() + 30  # until the watch cache holds them all
            while len(listed()) < want:
                assert time.monotonic() < deadline, f"the cache never held the {what}"
                time.sleep(0.01)
            for _ in range(50):
                listed()
            latencies = []
            cpu0, mine0 = time.process_time(), time.thread_time()
            for _ in range(n):
                t0 = time.perf_counter()
                listed()
                latencies.append(time.perf_counter() - t0)
            server_cpu = (time.process_time() - cpu0) - (time.thread_time() - mine0)
            out[what] = {"server_cpu_us": server_cpu / n * 1e6,
                         "p50_us": statistics.median(latencies) * 1e6}
    finally:
        api.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=300, help="reads of each kind per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench import reproduce
    from tests.bench.sidebyside import rounds as side_by_side
    from tests.bench.sidebyside import versus

    rounds = side_by_side(__file__, ["--one", str(args.n)], args.base, args.rounds)
    print(f"reads with resourceVersion=0, medians of {args.rounds} rounds of {args.n}")
    for what in READS:
        for field, label in (("server_cpu_us", "server CPU"), ("p50_us", "latency p50")):
            new = [r["new"][what][field] for r in rounds]
            line = f"  {what:11s} {label:11s} new {statistics.median(new):6.0f} us"
            if args.base:
                line += versus(new, [r["base"][what][field] for r in rounds])
            print(line)
    print(f"\nreproduce: {reproduce('tests.bench.read_bench', argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
