"""What an informer's ``list(namespace)`` costs with many namespaces: the CPU of
listing one namespace's pods from a cache of --pods pods spread over
--namespaces namespaces (the Endpoints, Job and HPA controllers do this on each
sync). With ``--base REV`` the same is measured with that revision's code in a
process of its own, in turns with this tree's, and the ratio printed.

    python -m tests.bench.informer_list_bench [--base REV] [--pods 20000] [--namespaces 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def measure(pods: int, namespaces: int, n: int) -> float:
    """Microseconds of this thread's CPU per ``list(namespace)``."""
    from coxapi.informer import Informer

    class Source:
        def list(self, kind: str, *args: object, **kw: object) -> dict:
            return {"metadata": {"resourceVersion": str(pods)}, "items": [
                {"kind": "Pod", "metadata": {"name": f"p{i}", "namespace": f"ns{i % namespaces}",
                                             "resourceVersion": str(i + 1)}}
                for i in range(pods)]}

    inf = Informer(Source(), "Pod")
    inf.relist()
    t0 = time.thread_time()
    for i in range(n):
        inf.list(f"ns{i % namespaces}")
    return (time.thread_time() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--pods", type=int, default=20000)
    p.add_argument("--namespaces", type=int, default=50)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=200, help="lists per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.pods, args.namespaces, args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's tree
    from tests.bench.sidebyside import print_figure

    print_figure(__file__, "tests.bench.informer_list_bench",
                 f"one namespace's list from {args.pods} pods in {args.namespaces} namespaces, "
                 f"CPU (medians of {args.rounds} rounds of {args.n})",
                 ["--one", str(args.n), "--pods", str(args.pods),
                  "--namespaces", str(args.namespaces)], args.base, args.rounds, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
