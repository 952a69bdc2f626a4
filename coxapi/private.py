"""Private files: what holds secrets (Raft journal and snapshot, tokens, keys,
kubeconfigs) is readable by its owner only — directories 0700, files 0600.

Processes that own such files (a master, ``cox cluster up``) also run with
umask 077, so files that libraries create (pysyncobj's journal and snapshot)
are born private; ``restrict_tree`` fixes what an older version left open.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
UMASK = 0o077


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and its parents) if missing and make it 0700."""
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    os.chmod(p, DIR_MODE)
    return p


def restrict_tree(path: str | os.PathLike) -> None:
    """Make ``path`` and everything under it private (symlinks are left alone)."""
    root = Path(path)
    if not root.is_dir():
        return
    os.chmod(root, DIR_MODE)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            _chmod(os.path.join(dirpath, name), DIR_MODE)
        for name in filenames:
            _chmod(os.path.join(dirpath, name), FILE_MODE)


def _chmod(path: str, mode: int) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # removed meanwhile (a snapshot's temporary file)
    if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(st.st_mode) != mode:
        os.chmod(path, mode)


def write_private(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a 0600 file atomically (never readable by others, even briefly)."""
    p = Path(path)
    tmp = p.with_name(f".{p.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, p)
