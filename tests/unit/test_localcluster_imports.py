"""localcluster sits below the CLI: it may use coxapi and netproxy, and starts
masters and agents as programs, never by importing them."""

from __future__ import annotations

import ast
from pathlib import Path

import localcluster

FORBIDDEN = {"cli", "master", "node", "raftstore"}


def test_localcluster_imports_nothing_from_the_cli_or_the_programs_it_starts():
    found = []
    for path in Path(localcluster.__file__).parent.glob("*.py"):
        for n in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in n.names] if isinstance(n, ast.Import)
                     else [n.module or ""] if isinstance(n, ast.ImportFrom) and not n.level
                     else [])
            found += [f"{path.name}: {m}" for m in names if m.split(".")[0] in FORBIDDEN]
    assert found == []
