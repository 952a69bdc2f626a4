"""Kubernetes' AtomicWriter: a volume's files change all at once, never half-way.

The files of a configMap, secret, downwardAPI or projected volume live in a
timestamped directory; ``..data`` is a symlink to the current one and every
user-visible top-level name is a symlink into ``..data``::

    volume/
      ..2026_12_01_11_20_03.123456789/   the payload, written in full first
      ..data -> ..2026_12_01_11_20_03.123456789
      app.conf -> ..data/app.conf

An update writes a new timestamped directory, points a temporary symlink at
it and renames that over ``..data`` (rename(2) is atomic), adds and removes
the top-level symlinks, then deletes the old directory. A reader that opens
``app.conf`` sees either the whole old payload or the whole new one.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DATA_DIR = "..data"
_DATA_TMP = "..data_tmp"


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int = 0o644


class PayloadError(ValueError):
    """A payload path that could escape the volume or collide with the writer's own names."""


def validate_path(path: str) -> None:
    if not path:
        raise PayloadError("a file path must not be empty")
    if path.startswith("/"):
        raise PayloadError(f"{path!r}: must be a relative path")
    parts = path.split("/")
    if ".." in parts:
        raise PayloadError(f"{path!r}: must not contain '..'")
    if parts[0].startswith(".."):
        raise PayloadError(f"{path!r}: must not start with '..'")


def _top_names(payload: Mapping[str, FileProjection]) -> set[str]:
    return {p.split("/", 1)[0] for p in payload}


class AtomicWriter:
    def __init__(self, target_dir: str, clock: Callable[[], float] = time.time) -> None:
        self.target_dir = target_dir
        self.clock = clock

    def current(self) -> str | None:
        """The timestamped directory ``..data`` points at, or None."""
        try:
            return os.readlink(posixpath.join(self.target_dir, DATA_DIR))
        except OSError:
            return None

    def write(self, payload: Mapping[str, FileProjection]) -> bool:
        """Make the volume hold exactly ``payload``; True if anything changed."""
        for path in payload:
            validate_path(path)
        os.makedirs(self.target_dir, exist_ok=True)
        old = self.current()
        if old is not None and self._same(posixpath.join(self.target_dir, old), payload):
            self._link_names(payload)  # a crash may have left names half done
            return False
        new = self._write_ts_dir(payload)
        tmp = posixpath.join(self.target_dir, _DATA_TMP)
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(new, tmp)
        os.rename(tmp, posixpath.join(self.target_dir, DATA_DIR))
        self._link_names(payload)
        if old is not None and old != new:
            shutil.rmtree(posixpath.join(self.target_dir, old), ignore_errors=True)
        self._remove_stale_ts_dirs(keep=new)
        return True

    def _same(self, ts_dir: str, payload: Mapping[str, FileProjection]) -> bool:
        found: dict[str, tuple[bytes, int]] = {}
        for root, _dirs, files in os.walk(ts_dir):
            for f in files:
                full = posixpath.join(root, f)
                rel = posixpath.relpath(full, ts_dir)
                try:
                    with open(full, "rb") as fh:
                        found[rel] = (fh.read(), os.stat(full).st_mode & 0o7777)
                except OSError:
                    return False
        return found == {p: (f.data, f.mode) for p, f in payload.items()}

    def _write_ts_dir(self, payload: Mapping[str, FileProjection]) -> str:
        stamp = time.strftime("%Y_%m_%d_%H_%M_%S", time.gmtime(self.clock()))
        n = 0
        while True:
            name = f"..{stamp}.{time.monotonic_ns() % 10**9:09d}{n or ''}"
            try:
                os.mkdir(posixpath.join(self.target_dir, name), 0o755)
                break
            except FileExistsError:
                n += 1
        base = posixpath.join(self.target_dir, name)
        for path, f in payload.items():
            full = posixpath.join(base, path)
            os.makedirs(posixpath.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(f.data)
            os.chmod(full, f.mode)
        return name

    def _link_names(self, payload: Mapping[str, FileProjection]) -> None:
        wanted = _top_names(payload)
        for name in wanted:
            link = posixpath.join(self.target_dir, name)
            target = posixpath.join(DATA_DIR, name)
            if os.path.islink(link) and os.readlink(link) == target:
                continue
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(target, link)
        for name in os.listdir(self.target_dir):
            if name.startswith("..") or name in wanted:
                continue
            path = posixpath.join(self.target_dir, name)
            if os.path.islink(path):
                os.unlink(path)

    def _remove_stale_ts_dirs(self, keep: str) -> None:
        """Timestamped directories an interrupted write left behind."""
        for name in os.listdir(self.target_dir):
            if name.startswith("..") and name not in (keep, DATA_DIR, _DATA_TMP):
                path = posixpath.join(self.target_dir, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
