"""What one request costs the API client (coxapi.client: the CLI's, the node
agents', the hollow nodes'): the CPU of the calling thread per GET and per
POST against an in-process API server on loopback (its threads are not
counted). With ``--base REV`` the same is measured with that revision's code
in a process of its own, in turns with this tree's, and the ratios printed.

    python -m tests.bench.client_bench [--base REV] [--rounds 5] [--n 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time


def measure(n: int) -> dict[str, float]:
    """Microseconds of this thread's CPU per request, by verb."""
    from coxapi.client import Client
    from tests.unit.api_harness import ADMIN_TOKEN, Api

    api = Api()
    client = Client(api.url, token=ADMIN_TOKEN, ca_file=api.ca_file)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v" * 100},
            "metadata": {"name": "read", "namespace": "default"}}
    client.create(body)
    seq = iter(range(10**9))

    def post() -> None:
        client.create({**body, "metadata": {"name": f"w-{next(seq)}", "namespace": "default"}})
    verbs = {"GET": lambda: client.get("ConfigMap", "read"), "POST": post}
    out = {}
    try:
        for verb, call in verbs.items():
            for _ in range(50):
                call()
            t0 = time.thread_time()
            for _ in range(n):
                call()
            out[verb] = (time.thread_time() - t0) / n * 1e6
    finally:
        api.close()
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=300, help="requests per verb per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench.sidebyside import rounds as side_by_side
    from tests.bench.sidebyside import versus

    cmd = "python -m tests.bench.client_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    rounds = side_by_side(__file__, ["--one", str(args.n)], args.base, args.rounds)
    print(f"client CPU per request, medians of {args.rounds} rounds of {args.n}")
    for verb in ("GET", "POST"):
        line = f"  {verb:5s} new {statistics.median(r['new'][verb] for r in rounds):6.0f} us"
        if args.base:
            line += versus([r["new"][verb] for r in rounds], [r["base"][verb] for r in rounds])
        print(line)
    print(f"\nreproduce: {cmd.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
