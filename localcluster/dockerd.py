"""A node's own dockerd: started inside the node's network namespace, waited
for until it answers, stopped by pid, and its leftovers reaped.

Its leftovers are what ``down`` must not leave behind: its containerd and
shims (their argv names the node's exec root), the mounts under its data and
exec roots (overlay layers, container namespaces), the node's cgroup subtree
and the state directories themselves.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import time
from pathlib import Path

import docker
import docker.errors
import requests

from . import procs
from .argv import dockerd_argv
from .spec import NodeSpec

MNT_DETACH = 2
CGROUP_ROOT = Path("/sys/fs/cgroup")


class DockerdError(RuntimeError):
    """A node's dockerd did not come up, or its state could not be removed."""


def client(node: NodeSpec, timeout: float = 30.0) -> docker.DockerClient:
    return docker.DockerClient(base_url=node.docker_host, timeout=timeout)


def start(node: NodeSpec, dockerd: str = "dockerd") -> tuple[int, list[str]]:
    """Start the node's dockerd; returns its pid and the argv to restart it."""
    for d in (node.docker_data_root, node.docker_exec_root):
        d.mkdir(parents=True, exist_ok=True)
    # A pidfile left by a dockerd that died makes the next one refuse to start.
    node.dockerd_pidfile.unlink(missing_ok=True)
    argv = dockerd_argv(node, dockerd)
    return procs.start(argv, node.dockerd_log), argv


def wait_ready(node: NodeSpec, pid: int, timeout: float = 30.0) -> float:
    """Block until the dockerd answers a ping; returns the seconds it took."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if procs.exited(pid):
            raise DockerdError(f"dockerd of {node.name} exited; see {node.dockerd_log}:\n"
                               + _tail(node.dockerd_log))
        if node.docker_socket.exists():
            try:
                # The client asks the daemon its API version when it is made,
                # so a dockerd still starting can fail here too.
                c = client(node, timeout=2)
            except (docker.errors.DockerException, requests.RequestException) as e:
                last = e
            else:
                try:
                    if c.ping():
                        return time.monotonic() - t0
                except (docker.errors.DockerException, requests.RequestException) as e:
                    last = e
                finally:
                    c.close()
        time.sleep(0.05)
    raise DockerdError(f"dockerd of {node.name} did not answer within {timeout:.0f}s"
                       f" ({last}); see {node.dockerd_log}")


def stop(node: NodeSpec, pid: int | None, timeout: float = 20.0) -> None:
    """SIGTERM (dockerd then stops its containers within --shutdown-timeout),
    SIGKILL after ``timeout``; then reap what it left."""
    if pid:
        procs.stop(pid, timeout=timeout)
    reap(node)


def reap(node: NodeSpec, keep_data: bool = False) -> None:
    """Remove everything a node's dockerd leaves behind, whether it stopped
    cleanly or was killed. Safe to run when nothing is left.

    ``keep_data``: end its processes and mounts but keep its data root (the
    containers and images), as a machine that rebooted does; the dockerd
    started next finds its containers exited and the agent decides their fate."""
    for root in (node.docker_exec_root, node.docker_data_root):
        for pid in procs.pids_mentioning(root):
            procs.stop(pid, timeout=5.0)
    # Container processes outlive a killed dockerd and its shims (they are
    # re-parented to init); the node's cgroup subtree is how they are found.
    for pid in cgroup_pids(node.cgroup_parent):
        procs.stop(pid, timeout=0.0)
    for root in (node.docker_exec_root, node.docker_data_root):
        unmount_under(root)
    _remove_cgroups(node.cgroup_parent)
    for d in (node.run_dir,) if keep_data else (node.run_dir, node.docker_data_root):
        try:
            shutil.rmtree(d)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise DockerdError(f"cannot remove {d}: {e}") from None


def unmount_under(root: Path) -> None:
    """Lazily unmount every mount at or below ``root``, deepest first."""
    prefix = str(root).rstrip("/")
    libc = ctypes.CDLL(None, use_errno=True)
    for target in sorted(_mounts_under(prefix), key=len, reverse=True):
        if libc.umount2(target.encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            if err not in (22, 2):  # EINVAL: not a mount point (any more); ENOENT
                raise DockerdError(f"cannot unmount {target}: {os.strerror(err)}")


def _mounts_under(prefix: str) -> list[str]:
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            target = line.split()[4].replace("\\040", " ")
            if target == prefix or target.startswith(prefix + "/"):
                out.append(target)
    return out


def _cgroup_dirs(parent: str) -> list[Path]:
    """The node's cgroup subtree in every hierarchy (v1: one per controller)."""
    rel = parent.strip("/")
    if not rel or not CGROUP_ROOT.is_dir():
        return []
    bases = [CGROUP_ROOT / rel] + [h / rel for h in CGROUP_ROOT.iterdir() if h.is_dir()]
    return [b for b in bases if b.is_dir() and not b.is_symlink()]


def cgroup_pids(parent: str) -> set[int]:
    """Every process in the node's cgroup subtree: its containers' processes."""
    pids: set[int] = set()
    for base in _cgroup_dirs(parent):
        for procs_file in base.rglob("cgroup.procs"):
            try:
                pids |= {int(x) for x in procs_file.read_text().split()}
            except (OSError, ValueError):
                continue
    return pids


def _remove_cgroups(parent: str) -> None:
    """rmdir the node's (now empty) cgroup subtree in every hierarchy, leaves first."""
    for base in _cgroup_dirs(parent):
        for dirpath, _dirs, _files in sorted(os.walk(base), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass  # still in use or already gone; not ours to force


def _tail(path: Path, n: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def run_probe(node: NodeSpec, image: str, timeout: float = 30.0) -> str:
    """Run ``hostname`` in a throwaway container of ``image``: proof that this
    dockerd can start containers from it. Returns the output."""
    c = client(node, timeout=timeout)
    try:
        out = c.containers.run(image, ["hostname"], network_mode="none", remove=True,
                               hostname=f"probe-{node.name}")
    finally:
        c.close()
    return out.decode().strip()
