"""What the leader's event collector (master.controllers.eventgc) costs over
an hour of its passes (one a minute, ``event_gc_period``) with many Events
stored, none expired: the CPU of its 60 passes. Events are stored on a store
lease, as every Event is written now. With ``--base REV`` the same is
measured with that revision's code in a process of its own, in turns with
this tree's, and the ratio printed. The store is in memory (no Raft read per
page of 500), so a master's passes cost more than this.

    python -m tests.bench.eventgc_bench [--base REV] [--events 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

PASSES = 60  # an hour of passes, one a minute


def measure(events: int) -> float:
    """Milliseconds of this thread's CPU for an hour of the collector's passes."""
    from master.controllers.eventgc import EventGarbageCollector
    from master.controllers.testing import make_context

    ctx, clock = make_context()
    lease = ctx.objects.store.lease_grant(10 * 3600)
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock()))
    for i in range(events):
        ctx.objects.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"pod-{i}.{i:016x}", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": f"pod-{i}",
                               "uid": f"uid-{i}", "apiVersion": "v1"},
            "reason": "Started", "message": "Started container app", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1}, lease=lease)
    gc = EventGarbageCollector(ctx)
    started = time.thread_time()
    for _ in range(PASSES):
        gc.reconcile("expire")
        clock.advance(60)
    return (time.thread_time() - started) * 1e3


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--events", type=int, default=20000, help="Events stored")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench.sidebyside import print_figure

    print_figure(__file__, "tests.bench.eventgc_bench",
                 f"an hour of the event collector's passes ({PASSES}) with {args.events} "
                 f"Events stored, CPU (medians of {args.rounds} rounds)",
                 ["--one", str(args.events)], args.base, args.rounds, argv, unit="ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
