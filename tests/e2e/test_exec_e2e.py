"""Into a running pod with the real kubectl and with `cox`: exec (exit codes,
stdin, 10 MB through intact, a terminal driven through a pseudo-terminal),
cp of a directory both ways, checked by checksums, `kubectl attach -i` to a
main process reading its stdin, and `cox port-forward`
carrying 100 concurrent HTTP requests (kubectl's port-forward, SPDY in a
WebSocket: tests/e2e/test_kubectl_portforward_e2e.py).

One `cox cluster up` (1 master, 1 node) with this module's own prefix
(``cxex``), subnet, CIDRs and ports. kubectl: kubectl_132 of tests/e2e/clusterharness
($KUBECTL, kubectl.1.32, PATH, next to this interpreter).
"""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import clusterharness as harness
from tests.support import wait_until

pytestmark = pytest.mark.e2e

PREFIX = "cxex"
FLAGS = ["--prefix", PREFIX, "--subnet", "10.251.19.0/24", "--cluster-cidr", "10.244.232.0/22",
         "--service-cidr", "10.96.232.0/24", "--api-port", "12643", "--raft-port", "12601",
         "--masters", "1", "--nodes", "1"]
KUBECTL = harness.kubectl_132()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[harness.Cluster]:
    if KUBECTL is None:
        pytest.skip("no kubectl binary (./dev installs one)")
    c = harness.Cluster(tmp_path_factory.mktemp("cluster"), FLAGS, kubectl=KUBECTL)
    with harness.running(c):
        c.apply(harness.WEB_POD, harness.READER_POD)

        def running() -> bool:
            out = c.run("cox", "get", "pods", "-o", "json").stdout
            phases = [p.get("status", {}).get("phase") for p in json.loads(out or "{}")["items"]]
            return phases == ["Running", "Running"]
        wait_until(running, 120, 1, "the pods running")
        yield c


@pytest.mark.parametrize("tool", ["kubectl", "cox"])
def test_exec_output_exit_codes_and_stdin(cluster, tool):
    assert cluster.ok(tool, "exec", "web", "--", "echo", "hi") == b"hi\n"
    failed = cluster.run(tool, "exec", "web", "--", "sh", "-c", "echo oops >&2; exit 3")
    assert failed.returncode == 3 and b"oops" in failed.stderr
    assert cluster.ok(tool, "exec", "-i", "web", "--", "cat", input=b"piped\n") == b"piped\n"
    assert cluster.ok(tool, "exec", "-c", "app", "web", "--", "sh", "-c", "wc -c",
                      input=b"") == b"0\n"


@pytest.mark.parametrize("tool", ["kubectl", "cox"])
def test_ten_megabytes_arrive_intact_both_ways(cluster, tool):
    data = os.urandom(10 << 20)
    out = cluster.ok(tool, "exec", "-i", "web", "--", "cat", input=data)
    assert len(out) == len(data) and hashlib.sha256(out).digest() == hashlib.sha256(data).digest()


def drive_terminal(argv: list[str], typed: bytes, deadline: float = 60) -> tuple[int, bytes]:
    """Run ``argv`` on a pseudo-terminal, type ``typed``, collect what it shows."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kubectl or cox with the terminal as stdin/stdout/stderr
        os.execvp(argv[0], argv)
    shown = b""
    os.write(fd, typed)
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:  # the child has gone: EIO on the terminal
                break
            if not data:
                break
            shown += data
    else:
        os.kill(pid, 9)  # still there at the deadline: the test fails on its exit code
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown


@pytest.mark.parametrize("tool", ["kubectl", "cox"])
def test_a_terminal_works(cluster, tool):
    code, shown = drive_terminal([*cluster.argv(tool), "exec", "-it", "web", "--", "sh"],
                                 b"tty; echo $((6*7)); stty size; exit 5\n")
    assert code == 5, shown
    assert b"/dev/pts/" in shown and b"42" in shown, shown


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("tool", ["kubectl", "cox"])
def test_cp_a_directory_both_ways(cluster, tool, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "big.bin").write_bytes(os.urandom(3 << 20))
    (src / "hello.txt").write_text("hello\n")
    cluster.ok(tool, "cp", str(src), f"web:/tmp/{tool}-up")
    remote = cluster.ok("kubectl", "exec", "web", "--", "sha256sum", f"/tmp/{tool}-up/hello.txt",
                        f"/tmp/{tool}-up/sub/big.bin").decode().split()
    want = tree_digest(src)
    assert remote[0::2] == [want["hello.txt"], want["sub/big.bin"]]
    back = tmp_path / "back"
    cluster.ok(tool, "cp", f"web:/tmp/{tool}-up", str(back))
    assert tree_digest(back) == want


def test_kubectl_attach_reaches_the_main_process(cluster):
    out = cluster.ok("kubectl", "attach", "-i", "reader", input=b"hello\n")
    assert b"got hello" in out


def test_exec_needs_the_right_to_create_pods_exec(cluster, tmp_path):
    bad = cluster.kubeconfig_with_token(tmp_path / "kubeconfig", "not-a-token")
    done = subprocess.run([KUBECTL or "kubectl", "--kubeconfig", str(bad), "exec", "web", "--",
                           "echo", "hi"], capture_output=True, timeout=60, check=False)
    assert done.returncode != 0 and b"hi" not in done.stdout
    assert b"Unauthorized" in done.stderr or b"logged in" in done.stderr, done.stderr


def test_cox_port_forward_carries_a_hundred_concurrent_requests(cluster):
    with harness.port_forwarded([*cluster.argv("cox"), "port-forward", "web"], 8080) as (port, _):
        assert harness.get_all(port, 100, 100) == [b"web\n"] * 100


def test_logs_still_come_from_the_agents_server(cluster):
    """The agent's server now also speaks WebSocket (uvicorn); its HTTP side is unchanged."""
    assert b"serving web on :8080" in cluster.ok("cox", "logs", "web")
    assert b"serving web on :8080" in cluster.ok("kubectl", "logs", "web")
