"""What handing a controller's writes to threads costs (master.controllers.
parallel): the process's CPU per item of calls of ``--items`` items that each
wait ``--wait`` ms (a Raft commit's wait, no CPU), so what is measured is the
threads' own cost: starting, handing over, joining. With ``--base REV`` the
same is measured with that revision's code in a process of its own, in turns
with this tree's, and the ratio printed.

    python -m tests.bench.parallel_bench [--base REV] [--rounds 5] [--items 64] [--calls 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(items: int, calls: int, wait_ms: float) -> float:
    """Microseconds of the process's CPU per item."""
    from master.controllers import parallel

    def write(_: int) -> None:
        time.sleep(wait_ms / 1000)
    parallel.each(write, range(items))  # warm: imports, and a kept pool's threads
    started = _cpu()
    for _ in range(calls):
        parallel.each(write, range(items))
    return (_cpu() - started) / (calls * items) * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--items", type=int, default=64, help="items per call")
    p.add_argument("--calls", type=int, default=50)
    p.add_argument("--wait", type=float, default=2.0, help="ms each item waits")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.items, args.calls, args.wait)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench.sidebyside import print_figure

    print_figure(__file__, "tests.bench.parallel_bench",
                 f"one write of a call of {args.items} handed to threads, CPU (medians of "
                 f"{args.rounds} rounds of {args.calls} calls)",
                 ["--one", "--items", str(args.items), "--calls", str(args.calls),
                  "--wait", str(args.wait)], args.base, args.rounds, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
