"""CPU of the leader's idle controller workers: polling their stop event vs
asleep until a key is due or a ``StopEvent`` wakes them.

    python -m tests.bench.idle_workers_bench [--queues 19] [--workers 2] [--seconds 5] [--runs 3]

As many work queues as the leader has controllers (the scheduler's among
them), each with as many worker threads as ``ControllerConfig.workers``, sit
idle; the process's CPU over the idle spell is measured with the workers
given a plain Event (they look at it every 0.1 s) and then a StopEvent (they
block), in turns. Prints the medians and the command.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from coxapi.supervisor import StopEvent
from master.workqueue import WorkQueue
from tests.bench import reproduce


def idle_cpu(stop: threading.Event, queues: int, workers: int, seconds: float) -> float:
    """Share of a core the idle workers used over ``seconds``."""
    qs = [WorkQueue() for _ in range(queues)]
    threads = [threading.Thread(target=q.work, args=(lambda key: None, stop))
               for q in qs for _ in range(workers)]
    for t in threads:
        t.start()
    stop.wait(0.5)  # let every worker reach its idle wait
    cpu, wall = time.process_time(), time.monotonic()
    stop.wait(seconds)
    share = (time.process_time() - cpu) / (time.monotonic() - wall)
    stop.set()
    for q in qs:
        q.shutdown()
    for t in threads:
        t.join(5)
    return share


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queues", type=int, default=19)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    polling, asleep = [], []
    for _ in range(args.runs):
        polling.append(idle_cpu(threading.Event(), args.queues, args.workers, args.seconds))
        asleep.append(idle_cpu(StopEvent(), args.queues, args.workers, args.seconds))
    n = args.queues * args.workers
    p, a = statistics.median(polling), statistics.median(asleep)
    print(f"{n} idle workers, share of a core (median of {args.runs} runs in turns):")
    print(f"  polling their stop event every 0.1 s: {100 * p:.2f} %")
    print(f"  asleep until a key or their StopEvent: {100 * a:.3f} %")
    print(f"\nreproduce: {reproduce('tests.bench.idle_workers_bench', argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
