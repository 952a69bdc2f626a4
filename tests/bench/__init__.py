"""Benchmarks: each prints its figures and the command that reproduces them."""

from __future__ import annotations

import sys


def reproduce(module: str, argv: list[str] | None) -> str:
    """The command line that runs ``module`` again with these arguments."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m", module, *args])
