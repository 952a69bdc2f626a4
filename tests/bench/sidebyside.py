"""The side-by-side benches' shared part: a bench script measured in turns
with this tree's code and a git revision's, each in a process of its own,
and what they print about a figure measured in both."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.bench import reproduce
from tests.bench.api_ab import TREE, checkout


def measured_in(script: str, code: Path, args: list[str]) -> Any:
    """The JSON ``script`` prints last, run by its path (the base revision may
    not have it) in a process that imports everything else from ``code``."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run([sys.executable, script, *args], env=env, cwd=code,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def rounds(script: str, args: list[str], base: str | None, n: int) -> list[dict[str, Any]]:
    """``n`` rounds of ``script``'s measurement, keyed "new" (this tree) and,
    with ``base``, "base" (that revision's files)."""
    with tempfile.TemporaryDirectory(prefix="side-by-side-") as d:
        trees = {"new": TREE}
        if base:
            trees["base"] = checkout(base, Path(d) / "base-code")
        return [{name: measured_in(script, code, args) for name, code in trees.items()}
                for _ in range(n)]


def versus(new: list[float], base: list[float], unit: str = "us") -> str:
    """The base's median and the median of the per-round ratios new/base."""
    ratios = [n / b for n, b in zip(new, base, strict=True)]
    return (f"  base {statistics.median(base):6.0f} {unit}  new/base "
            f"x{statistics.median(ratios):.2f} (rounds: {' '.join(f'{x:.2f}' for x in ratios)})")


def print_figure(script: str, module: str, what: str, measure_args: list[str],
                 base: str | None, n: int, argv: list[str] | None, unit: str = "us") -> None:
    """A one-figure bench's report: ``n`` rounds of ``script`` side by side,
    the new median of ``what`` (and, with ``base``, the ratio) and the command."""
    measured = rounds(script, measure_args, base, n)
    new = [r["new"] for r in measured]
    line = f"{what}: new {statistics.median(new):6.0f} {unit}"
    if base:
        line += versus(new, [r["base"] for r in measured], unit)
    print(line)
    print(f"\nreproduce: {reproduce(module, argv)}")
