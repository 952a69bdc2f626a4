"""Cutting one master's Raft traffic off from its peers with nftables, in a
table this test owns (a unique name, deleted on exit).

Each master's Raft port is on its own loopback address and its peer
connections leave from that address (raftstore binds them), so the cut is
by address and Raft port: everything between the cut master and its peers
that touches a Raft port — incoming to its port, its outgoing connections to
theirs, and the answers — is dropped. Clients (from 127.0.0.1, to the API
ports) are untouched.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from raftstore.config import check_addr


def _nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True,
                   capture_output=True, timeout=10)


def cut_rules(table: str, cut: str, peers: list[str]) -> str:
    """The nft script that drops Raft traffic between ``cut`` and ``peers``
    (HOST:PORT Raft addresses, IPv4)."""
    host, port = check_addr(cut)
    others = [check_addr(p) for p in peers]
    hosts = ", ".join(h for h, _ in others)
    ports = ", ".join(str(p) for _, p in others)
    return (f"table inet {table} {{\n"
            "  chain output {\n"
            "    type filter hook output priority -5; policy accept;\n"
            f"    ip saddr {host} ip daddr {{ {hosts} }} tcp dport {{ {ports} }} drop\n"
            f"    ip saddr {host} ip daddr {{ {hosts} }} tcp sport {port} drop\n"
            f"    ip saddr {{ {hosts} }} ip daddr {host} tcp dport {port} drop\n"
            f"    ip saddr {{ {hosts} }} ip daddr {host} tcp sport {{ {ports} }} drop\n"
            "  }\n"
            "}\n")


@contextmanager
def raft_cut(cut: str, peers: list[str]) -> Iterator[str]:
    """Drop Raft traffic between ``cut`` and ``peers`` while inside; yields
    the table's name."""
    table = f"chaos-partition-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    _nft(cut_rules(table, cut, peers))
    try:
        yield table
    finally:
        _nft(f"delete table inet {table}\n")
