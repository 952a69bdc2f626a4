"""kubectl that speaks plain SPDY/3.1 (an HTTP/1.1 upgrade; master.spdyupgrade,
master.api.spdyexec) against a cox cluster: kubectl 1.29 for exec (exit codes,
stdin, a terminal), cp both ways, attach and port-forward, and kubectl 1.32
with ``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false`` (its SPDY exec).

One `cox cluster up` (1 master, 1 node) with this module's own prefix
(``cxsp``), subnet, CIDRs and ports. kubectl 1.29: ``kubectl.1.29`` beside
kubectl_132 of tests/e2e/clusterharness (the Cloud SDK installs them side by side).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import clusterharness as harness
from tests.e2e.test_exec_e2e import drive_terminal, tree_digest
from tests.support import wait_until

pytestmark = pytest.mark.e2e

FLAGS = ["--prefix", "cxsp", "--subnet", "10.251.27.0/24", "--cluster-cidr", "10.244.192.0/22",
         "--service-cidr", "10.96.192.0/24", "--api-port", "13343", "--raft-port", "13301",
         "--masters", "1", "--nodes", "1"]
KUBECTL_132 = harness.kubectl_132()


def kubectl_129() -> str | None:
    """``kubectl.1.29`` beside kubectl 1.32 (or on PATH)."""
    beside = Path(os.path.realpath(KUBECTL_132)).with_name("kubectl.1.29") if KUBECTL_132 \
        else None
    if beside is not None and beside.is_file():
        return str(beside)
    found = subprocess.run(["sh", "-c", "command -v kubectl.1.29"], capture_output=True,
                           text=True, check=False).stdout.strip()
    return found or None


KUBECTL_129 = kubectl_129()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[harness.Cluster]:
    if KUBECTL_129 is None:
        pytest.skip("no kubectl.1.29 (beside kubectl.1.32 or on PATH): the Cloud SDK's "
                    "kubectl component installs it")
    c = harness.Cluster(tmp_path_factory.mktemp("cluster"), FLAGS, kubectl=KUBECTL_129)
    with harness.running(c, harness.no_processes):
        c.apply(harness.WEB_POD, harness.READER_POD)

        def running() -> bool:
            out = c.cox("get", "pods", "-o", "json")
            phases = [p.get("status", {}).get("phase") for p in json.loads(out)["items"]]
            return phases == ["Running", "Running"]
        wait_until(running, 120, 1, "the pods running")
        yield c


def test_exec_exit_code_output_and_stdin(cluster):
    assert KUBECTL_129 is not None
    failed = cluster.run(KUBECTL_129, "exec", "web", "--", "sh", "-c", "echo oops >&2; exit 3")
    assert failed.returncode == 3, failed.stderr
    assert failed.stderr.startswith(b"oops\n") and failed.stdout == b""
    assert cluster.ok(KUBECTL_129, "exec", "web", "--", "echo", "hi") == b"hi\n"
    data = os.urandom(1 << 20)
    out = cluster.ok(KUBECTL_129, "exec", "-i", "web", "--", "cat", input=data)
    assert hashlib.sha256(out).digest() == hashlib.sha256(data).digest()


def test_kubectl_132_without_websockets_speaks_spdy(cluster):
    assert KUBECTL_132 is not None
    spdy = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    failed = cluster.run(KUBECTL_132, "exec", "web", "--", "sh", "-c", "exit 3", env=spdy)
    assert failed.returncode == 3, failed.stderr
    assert cluster.ok(KUBECTL_132, "exec", "-i", "web", "--", "cat", input=b"piped\n",
                      env=spdy) == b"piped\n"


def test_a_terminal_works(cluster):
    assert KUBECTL_129 is not None
    code, shown = drive_terminal([*cluster.argv(KUBECTL_129), "exec", "-it", "web", "--", "sh"],
                                 b"tty; echo $((6*7)); stty size; exit 5\n")
    assert code == 5, shown
    assert b"/dev/pts/" in shown and b"42" in shown, shown


def test_cp_a_directory_both_ways(cluster, tmp_path):
    assert KUBECTL_129 is not None
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "big.bin").write_bytes(os.urandom(3 << 20))
    (src / "hello.txt").write_text("hello\n")
    cluster.ok(KUBECTL_129, "cp", str(src), "web:/tmp/up")
    back = tmp_path / "back"
    cluster.ok(KUBECTL_129, "cp", "web:/tmp/up", str(back))
    assert tree_digest(back) == tree_digest(src)


def test_attach_reaches_the_main_process(cluster):
    assert KUBECTL_129 is not None
    out = cluster.ok(KUBECTL_129, "attach", "-i", "reader", input=b"hello\n")
    assert b"got hello" in out


def test_port_forward_carries_http_requests(cluster):
    assert KUBECTL_129 is not None
    argv = [*cluster.argv(KUBECTL_129), "port-forward", "pod/web"]
    with harness.port_forwarded(argv, 8080) as (port, proc):
        assert harness.get_all(port, 20, 10) == [b"web\n"] * 20
        assert proc.poll() is None  # still forwarding
