"""Processes the cluster starts, identified and ended by pid only.

A recorded pid counts as ours only while ``/proc/PID/cmdline`` still shows the
argv we started it with, so a pid the kernel reused for someone else's process
is never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from coxapi import pidlock

from .argv import program_argv


def start(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in its own session (a Ctrl-C in the terminal that ran
    ``cox cluster up`` must not stop the cluster), output appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    # a log may name secrets' keys and objects: the owner's alone, like the data dirs
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True, env=env,
                                close_fds=True)
    _wait_for_exec(proc.pid, program_argv(argv))
    return proc.pid


def _wait_for_exec(pid: int, want: list[str], timeout: float = 5.0) -> None:
    """Popen returns once the kernel has switched the child to the new program
    but a moment before its arguments are readable (``/proc/PID/cmdline`` is
    empty), and nsenter execs the real program later still. Wait until /proc
    shows the program, so that ``matches`` never takes our own starting
    process for a stranger; a process that exits first is left to the caller."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            p = psutil.Process(pid)
            if p.status() == psutil.STATUS_ZOMBIE or p.cmdline() == want:
                return
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return
        time.sleep(0.002)


def matches(pid: int | None, argv: Sequence[str]) -> bool:
    """Is ``pid`` alive and still the process started with ``argv``?"""
    if not pid:
        return False
    try:
        p = psutil.Process(pid)
        if p.status() == psutil.STATUS_ZOMBIE:
            _reap(pid)
            return False
        return p.cmdline() == program_argv(argv)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def master_pid(recorded: int | None, argv: Sequence[str], data_dir: Path) -> int | None:
    """The pid of the master running on ``data_dir``: the one recorded at ``up``
    while it is still that process, else whichever holds the data dir's pid lock
    (one restarted by hand, with any argv)."""
    if matches(recorded, argv):
        return recorded
    return pidlock.holder(data_dir / pidlock.MASTER_PIDFILE)


def exited(pid: int) -> bool:
    _reap(pid)
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def stop(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``timeout``; True once the process is gone."""
    for sig, wait in ((signal.SIGCONT, 0.0), (signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            _reap(pid)
            return True
        deadline = time.monotonic() + wait
        while True:
            if exited(pid):
                return True
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    return exited(pid)


def pids_mentioning(path: Path) -> list[int]:
    """Processes whose command line names ``path``: what a node's dockerd left
    running (its containerd and shims carry its exec root in their argv)."""
    needle = str(path).rstrip("/")
    out = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info.get("cmdline") or []
        if p.info["pid"] != os.getpid() and any(
                arg == needle or needle + "/" in arg for arg in cmd):
            out.append(p.info["pid"])
    return out


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
