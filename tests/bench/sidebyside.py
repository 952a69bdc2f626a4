"""What the side-by-side benches (a tree against a git revision, in turns)
print about a figure measured in both, round by round."""

from __future__ import annotations

import statistics


def versus(new: list[float], base: list[float], unit: str = "us") -> str:
    """The base's median and the median of the per-round ratios new/base."""
    ratios = [n / b for n, b in zip(new, base, strict=True)]
    return (f"  base {statistics.median(base):6.0f} {unit}  new/base "
            f"x{statistics.median(ratios):.2f} (rounds: {' '.join(f'{x:.2f}' for x in ratios)})")
