"""What a list from the watch cache costs a master (``resourceVersion=0``, the
kind node agents and informers make): the server's CPU per list (the
process's CPU less the calling thread's) and the client's latency, against
an in-process API server on loopback (master.asgi on uvicorn, HTTPS), for
a namespace of one object (an endpoint drain's Endpoints list) and for 100
node Leases carrying a usage report each (its Lease list). With ``--base REV``
the same is measured with that revision's code in a process of its own, in
turns with this tree's, and the ratios printed.

    python -m tests.bench.list_bench [--base REV] [--rounds 5] [--n 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

LISTS = {"one object": ("ConfigMap", "bench"), "100 Leases": ("Lease", "kube-node-lease")}
LEASES = 100


def _lease(i: int) -> dict:
    # about the size of a node's Lease with its usage report of 10 pods
    usage = {f"pod-{j}": {"cpu": "12m", "memory": "31Mi", "since": "2026-12-04T10:00:00Z"}
             for j in range(10)}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": f"node-{i:03d}", "namespace": "kube-node-lease",
                         "annotations": {"bench/usage": json.dumps(usage)}},
            "spec": {"holderIdentity": f"node-{i:03d}", "leaseDurationSeconds": 40}}


def measure(n: int) -> dict[str, dict[str, float]]:
    """Per list: the server's CPU and the client's latency, microseconds."""
    from coxapi.client import Client
    from tests.unit.api_harness import ADMIN_TOKEN, Api

    api = Api()
    client = Client(api.url, token=ADMIN_TOKEN, ca_file=api.ca_file)
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
    client.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v" * 100},
                   "metadata": {"name": "one", "namespace": "bench"}})
    for i in range(LEASES):
        client.create(_lease(i))
    out = {}
    try:
        for what, (kind, ns) in LISTS.items():
            want = 1 if kind == "ConfigMap" else LEASES
            deadline = time.monotonic() + 30  # until the watch cache holds them all
            while len(client.list(kind, ns, resource_version="0")["items"]) < want:
                assert time.monotonic() < deadline, f"the cache never held the {what}"
                time.sleep(0.01)
            for _ in range(50):
                client.list(kind, ns, resource_version="0")
            latencies = []
            cpu0, mine0 = time.process_time(), time.thread_time()
            for _ in range(n):
                t0 = time.perf_counter()
                client.list(kind, ns, resource_version="0")
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
    p.add_argument("--n", type=int, default=300, help="lists of each kind per round")
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
    print(f"a list with resourceVersion=0, medians of {args.rounds} rounds of {args.n}")
    for what in LISTS:
        for field, label in (("server_cpu_us", "server CPU"), ("p50_us", "latency p50")):
            new = [r["new"][what][field] for r in rounds]
            line = f"  {what:10s} {label:11s} new {statistics.median(new):6.0f} us"
            if args.base:
                line += versus(new, [r["base"][what][field] for r in rounds])
            print(line)
    print(f"\nreproduce: {reproduce('tests.bench.list_bench', argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
