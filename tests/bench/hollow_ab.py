"""hollow_bench's phase 1 for two builds of coxswain in turns: this tree ("new")
and a git revision ("base"). Runs of the same build minutes apart on this
machine differ by up to ×1.8 (49 to 88 pods/s), as its CPUs do; runs in turns
move alike, so the per-round ratio new/base says whether a change helped.

    python -m tests.bench.hollow_ab --base REV [--rounds 3] [--pods 1000] [--nodes 100]

Each round runs ``python -m tests.bench.hollow_bench --only-create`` once per
build (the masters and the hollow nodes all from that build's code) and reads
its figures: pods/s end to end, and the CPU per pod of the masters and of the
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


@dataclass
class Figures:
    rate: float  # pods/s, created -> Running
    masters: float  # CPU ms per pod
    hollow: float  # CPU ms per pod


def parse(output: str) -> Figures:
    """The figures of one hollow_bench run; ValueError naming what is missing."""
    rate, cpu = RATE.search(output), CPU.search(output)
    if rate is None or cpu is None:
        raise ValueError("hollow_bench printed no phase-1 figures:\n" + output[-2000:])
    return Figures(float(rate.group(1)), float(cpu.group(1)), float(cpu.group(2)))


def run_once(code: Path, cwd: Path, args: argparse.Namespace) -> Figures:
    argv = [sys.executable, "-m", "tests.bench.hollow_bench", "--only-create",
            "--nodes", str(args.nodes), "--pods", str(args.pods), "--silent", "0",
            "--procs", str(args.procs), "--election-timeout", "2"]
    # cwd holds no code, so -m finds the build's tree through PYTHONPATH alone
    out = subprocess.run(argv, cwd=cwd, env={**os.environ, "PYTHONPATH": str(code)},
                         capture_output=True, text=True, timeout=900)
    return parse(out.stdout + out.stderr)


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
          f"--pods {args.pods} --nodes {args.nodes} --procs {args.procs}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
