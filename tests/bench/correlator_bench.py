"""What one Event costs its writer's correlator (coxapi.eventcorrelator) when
the correlator already remembers many written Events, as a node agent's does
after a while and the leader's controllers' does with thousands of pods (the
scheduler records one per pod): the CPU of recording it and of the writer's
pass (``due``, ``written``, ``next_due_in``), no API write. With
``--base REV`` the same is measured with that revision's code in a process
of its own, in turns with this tree's, and the ratio printed.

    python -m tests.bench.correlator_bench [--base REV] [--events 4000] [--rounds 5] [--n 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def measure(remembered: int, n: int) -> float:
    """Microseconds of this thread's CPU per Event."""
    from coxapi.eventcorrelator import EventCorrelator

    c = EventCorrelator("kubelet", "node-1", time.time, min_interval=10.0,
                        max_events=remembered + n)
    pods = [{"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": f"pod-{i}", "namespace": "default", "uid": f"uid-{i}",
                          "resourceVersion": "1"}}
            for i in range(remembered + n)]
    for p in pods[:remembered]:
        c.observe(p, "Normal", "Started", "Started container app")
    for w in c.due():
        c.written(w)
    started = time.thread_time()
    for p in pods[remembered:]:  # one new Event, then the writer's pass, as it runs
        c.observe(p, "Normal", "Started", "Started container app")
        for w in c.due():
            c.written(w)
        c.next_due_in()
    return (time.thread_time() - started) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--events", type=int, default=4000, help="written Events remembered")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=500, help="Events recorded per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.events, args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench.sidebyside import print_figure

    print_figure(__file__, "tests.bench.correlator_bench",
                 f"one Event beside {args.events} written ones, CPU (medians of {args.rounds} "
                 f"rounds of {args.n})",
                 ["--one", str(args.n), "--events", str(args.events)], args.base, args.rounds,
                 argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
