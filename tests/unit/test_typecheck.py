"""mypy over the packages (configured in pyproject.toml), so CI keeps the types honest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_is_clean() -> None:
    # The cache (.mypy_cache at the root, git-ignored) makes reruns take a second.
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                          text=True, timeout=240)
    assert proc.returncode == 0, f"mypy found problems:\n{proc.stdout}{proc.stderr}"
