"""hollow_bench's phase 1 (or, with --rollout, phase 2) for two builds of
coxswain in turns: this tree ("new") and a git revision ("base"). Runs of the same build minutes apart on this
machine differ by up to ×1.8 (49 to 88 pods/s), as its CPUs do; runs in turns
move alike, so the per-round ratio new/base says whether a change helped.

    python -m tests.bench.hollow_ab --base REV [--rounds 3] [--pods 1000] [--nodes 100] [--rollout]

Each round runs this tree's ``tests/bench/hollow_bench.py`` once per build (the
masters and the hollow nodes all from that build's code; ``--only-create``
unless ``--rollout``) and reads its figures for the phase: pods/s end to end
(created -> Running, or replaced), and the CPU per pod of the masters and of the
hollow nodes. Printed: each round, then the medians and the median ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.bench.api_ab import TREE, checkout

RATE = re.compile(r"Running, end to end: +\d+ pods in +[\d.]+ s = +([\d.]+) pods/s")
CPU = re.compile(r"CPU per pod: masters ([\d.]+) ms, hollow nodes ([\d.]+) ms")
ROLLOUT_RATE = re.compile(r"replaced, end to end: +\d+ pods in +[\d.]+ s = +([\d.]+) pods/s")
ROLLOUT_CPU = re.compile(r"CPU per replaced pod: masters ([\d.]+) ms, hollow nodes ([\d.]+) ms")
BENCH = Path(__file__).with_name("hollow_bench.py")


@dataclass
class Figures:
    rate: float  # pods/s, created -> Running
    masters: float  # CPU ms per pod
    hollow: float  # CPU ms per pod


def parse(output: str, rollout: bool = False) -> Figures:
    """The figures of one hollow_bench run's phase 1 (or 2: ``rollout``);
    ValueError naming what is missing."""
    if rollout:
        rate, cpu = ROLLOUT_RATE.search(output), ROLLOUT_CPU.search(output)
    else:
        rate, cpu = RATE.search(output), CPU.search(output)
    if rate is None or cpu is None:
        raise ValueError(f"hollow_bench printed no phase-{2 if rollout else 1} figures:\n"
                         + output[-2000:])
    return Figures(float(rate.group(1)), float(cpu.group(1)), float(cpu.group(2)))


def run_once(code: Path, cwd: Path, args: argparse.Namespace) -> Figures:
    # the driver is this tree's (by its path: the base may print less); all it
    # imports and starts (masters, hollow nodes) is the build's, through PYTHONPATH
    # alone: cwd holds no code
    argv = [sys.executable, str(BENCH), *([] if args.rollout else ["--only-create"]),
            "--nodes", str(args.nodes), "--pods", str(args.pods), "--silent", "0",
            "--procs", str(args.procs), "--election-timeout", "2"]
    out = subprocess.run(argv, cwd=cwd, env={**os.environ, "PYTHONPATH": str(code)},
                         capture_output=True, text=True, timeout=900)
    return parse(out.stdout + out.stderr, args.rollout)


def ratios(new: list[Figures], base: list[Figures]) -> Figures:
    """Median per-round ratio new/base of each figure."""
    def med(f: str) -> float:
        return statistics.median(getattr(n, f) / getattr(b, f) for n, b in zip(new, base, strict=True))
    return Figures(med("rate"), med("masters"), med("hollow"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", required=True, help="the git revision to hold this tree against")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--procs", type=int, default=3)
    ap.add_argument("--rollout", action="store_true",
                    help="phase 2's figures (a rolling update of all the pods)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hollow-ab-") as tmp:
        base_code = checkout(args.base, Path(tmp) / "base")
        cwd = Path(tmp) / "run"
        cwd.mkdir()
        runs: dict[str, list[Figures]] = {"new": [], "base": []}
        for r in range(args.rounds):
            # alternate which goes first, so neither always meets a warmer machine
            order = [("new", TREE), ("base", base_code)]
            for name, code in order if r % 2 == 0 else order[::-1]:
                f = run_once(code, cwd, args)
                runs[name].append(f)
                print(f"round {r + 1} {name:4}: {f.rate:6.1f} pods/s, CPU per pod: masters "
                      f"{f.masters:5.1f} ms, hollow nodes {f.hollow:5.1f} ms", flush=True)
    for name, fs in runs.items():
        print(f"median {name:4}: {statistics.median(f.rate for f in fs):6.1f} pods/s, CPU per "
              f"pod: masters {statistics.median(f.masters for f in fs):5.1f} ms, hollow nodes "
              f"{statistics.median(f.hollow for f in fs):5.1f} ms")
    q = ratios(runs["new"], runs["base"])
    print(f"ratio new/base (median of rounds): pods/s ×{q.rate:.2f}, CPU per pod: masters "
          f"×{q.masters:.2f}, hollow nodes ×{q.hollow:.2f}")
    print(f"command: python -m tests.bench.hollow_ab --base {args.base} --rounds {args.rounds} "
          f"--pods {args.pods} --nodes {args.nodes} --procs {args.procs}"
          + (" --rollout" if args.rollout else ""))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
