"""CPU of an idle leader's controller manager (every controller, the scheduler
and their shared informers, on an in-memory store): the informers' in-process
watches bookmarking every 0.1 s (how they noticed a stop) vs every 5 s (a stop
interrupts them), in turns.

    python -m tests.bench.idle_leader_bench [--seconds 5] [--runs 3]

Prints the medians, the ratio and the command.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from master.controllers.config import ControllerConfig
from master.leader import ControllerManager
from master.objects import ObjectStore
from raftstore import MemoryStore
from tests.bench import reproduce


def idle_cpu(poll: float, seconds: float) -> tuple[float, int]:
    """Share of a core the idle manager used over ``seconds``, and its threads."""
    cm = ControllerManager(ObjectStore(MemoryStore()), ControllerConfig(informer_poll=poll))
    cm.start()
    try:
        if not cm.ready.wait(30):
            raise SystemExit("the controller manager did not start")
        time.sleep(1.0)  # every loop at its idle wait
        threads = threading.active_count()
        cpu, wall = time.process_time(), time.monotonic()
        time.sleep(seconds)
        return (time.process_time() - cpu) / (time.monotonic() - wall), threads
    finally:
        t0 = time.monotonic()
        cm.stop()
        stopped = time.monotonic() - t0
        print(f"  poll {poll:g} s: stopped in {stopped:.2f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    fast, slow = [], []
    threads = 0
    for _ in range(args.runs):
        share, threads = idle_cpu(0.1, args.seconds)
        fast.append(share)
        slow.append(idle_cpu(5.0, args.seconds)[0])
    f, s = statistics.median(fast), statistics.median(slow)
    print(f"idle controller manager ({threads} threads), share of a core "
          f"(median of {args.runs} runs in turns):")
    print(f"  informers bookmarking every 0.1 s: {100 * f:.2f} %")
    print(f"  every 5 s, a stop interrupting them: {100 * s:.3f} %  (x{s / f:.2f})")
    print(f"\nreproduce: {reproduce('tests.bench.idle_leader_bench', argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
