"""The seal's Raft port rules in a real kernel: in a fresh network namespace
(so nothing of the host is touched), a connection to a master's Raft port
from a master address gets through and one from any other address is
dropped and counted. Needs root (unshare -n)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                                 reason="needs root and unshare for a private network namespace")]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent("""
    import socket, subprocess
    from pathlib import Path
    from localcluster import seal
    from localcluster.spec import ClusterSpec

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "link", "add", "cxrh0", "type", "bridge"], check=True)
    spec = ClusterSpec(dir=Path("/nonexistent"), prefix="cxrh", bridge="cxrh0",
                       raft_port_base=43001)
    seal.create(spec)
    srv = socket.socket()
    srv.bind(("0.0.0.0", 43001))
    srv.listen()

    def attempt(src):
        c = socket.socket()
        c.settimeout(0.5)
        c.bind((src, 0))
        try:
            c.connect(("127.0.0.1", 43001))
            return "connected"
        except OSError as e:
            return type(e).__name__
        finally:
            c.close()

    print(attempt("127.0.0.1"), attempt("127.0.0.2"),
          seal.counters(spec.seal_table).raft_refused)
""")


def test_only_master_addresses_reach_raft_ports_through_the_seal():
    out = subprocess.run(["unshare", "-n", sys.executable, "-c", SCRIPT], cwd=REPO,
                         env=dict(os.environ, PYTHONPATH=REPO), capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["connected", "TimeoutError", "1"]
