"""A program's pid in its data directory, locked while it runs.

A master holds an exclusive ``flock`` on ``<data dir>/master.pid`` (its pid
inside) from start to exit; the kernel drops the lock when the process ends
however it ends. So whoever finds the file locked knows a live process owns
the directory and which one, whatever pid was recorded when it was started
(``cox cluster down`` stops a master that was restarted by hand), and a second
master cannot open the same data directory.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

MASTER_PIDFILE = "master.pid"


class Locked(OSError):
    """Another live process holds the lock."""

    def __init__(self, path: Path, pid: int | None) -> None:
        super().__init__(f"{path} is held by another process (pid {pid})")
        self.pid = pid


class PidLock:
    """The held lock; ``release`` (or the process's exit) gives it up."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None


def acquire(path: Path) -> PidLock:
    """Lock ``path`` (created 0600) and write this process's pid into it;
    ``Locked`` if a live process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by children
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Locked(path, holder(path)) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return PidLock(fd)


def holder(path: Path) -> int | None:
    """The pid of the live process holding ``path``'s lock, or None when none does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(text) if text.isdigit() else None
        return None  # we got it: nobody holds it (ours is dropped with the fd)
    finally:
        os.close(fd)
