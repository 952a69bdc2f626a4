"""emptyDir ``sizeLimit``: a pod whose emptyDir holds more than its limit is
evicted, as the kubelet's eviction manager does (``emptyDirLimitEviction``):
phase ``Failed``, reason ``Evicted``, a ``DisruptionTarget`` condition, a
Warning Event, and its containers stopped. The pod is not deleted; its
controller replaces it.

The rule is the kubelet's for every emptyDir with a positive ``sizeLimit``,
whatever its medium. A ``medium: Memory`` one is a tmpfs of exactly that size
(node/volumes.py), so writes beyond it fail with ENOSPC and its usage never
exceeds the limit: in practice only disk-backed emptyDirs are evicted, as in
Kubernetes with memory-backed volumes sized by ``sizeLimit``.

Pure: ``limited_empty_dirs``, ``decide``, ``evicted_status``. I/O:
``disk_usage`` (what ``du`` counts) and ``EmptyDirMonitor``, which measures
the limited emptyDirs of the node's running pods every ``period`` seconds
(the kubelet's housekeeping interval is 10s) off the sync loop, and wakes the
loop when one is over its limit; the pod's worker then evicts it.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from coxapi.quantity import QuantityError, parse_memory

from . import podspec

log = logging.getLogger(__name__)
Obj = dict[str, Any]

REASON = "Evicted"


@dataclass(frozen=True)
class Eviction:
    volume: str
    message: str


def active(pod: Obj) -> bool:
    """Still running or to be run here (not terminating, not finished)."""
    return not pod["metadata"].get("deletionTimestamp") and \
        (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def limited_empty_dirs(pod: Obj) -> dict[str, tuple[int, str]]:
    """emptyDir name -> (limit in bytes, the limit as written) for each with a
    positive ``sizeLimit``."""
    out: dict[str, tuple[int, str]] = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        if "emptyDir" not in vol:
            continue
        written = (vol.get("emptyDir") or {}).get("sizeLimit")
        if written in (None, ""):
            continue
        try:
            limit = parse_memory(written)
        except QuantityError:
            continue  # validation refuses these; never evict on a limit we cannot read
        if limit > 0:
            out[vol["name"]] = (limit, str(written))
    return out


def decide(pod: Obj, usage: Mapping[str, int]) -> Eviction | None:
    """The eviction of an active pod one of whose emptyDirs uses more than its
    limit (``usage``: volume name -> bytes measured), or None."""
    if not active(pod):
        return None
    for name, (limit, written) in limited_empty_dirs(pod).items():
        used = usage.get(name)
        if used is not None and used > limit:
            return Eviction(name, f'Usage of EmptyDir volume "{name}" exceeds the limit '
                                  f'"{written}".')
    return None


def evicted_status(status: Obj, message: str, now: str) -> Obj:
    """The pod's status once evicted (kubelet: Failed/Evicted, DisruptionTarget)."""
    out = dict(status)
    out.update(phase="Failed", reason=REASON, message=message)
    conds = [c for c in status.get("conditions") or [] if c.get("type") != "DisruptionTarget"]
    conds.append({"type": "DisruptionTarget", "status": "True",
                  "reason": "TerminationByKubelet", "message": message,
                  "lastProbeTime": None, "lastTransitionTime": now})
    out["conditions"] = conds
    return out


def disk_usage(path: str) -> int:
    """Bytes of disk the tree at ``path`` occupies, as ``du -x`` counts them:
    allocated blocks, each hard-linked inode once, symlinks not followed,
    other filesystems not entered."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    seen: set[tuple[int, int]] = set()
    total = 0
    stack = [path]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue  # removed meanwhile, or unreadable: count what we can
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if st.st_dev != top.st_dev:
                continue
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
            if stat.S_ISDIR(st.st_mode):
                stack.append(e.path)
    return total + top.st_blocks * 512


class EmptyDirMonitor:
    """Measures the limited emptyDirs of the node's active pods, periodically."""

    def __init__(self, data_dir: str, pods: Callable[[], Iterable[Obj]], period: float,
                 on_exceeded: Callable[[], None],
                 measure: Callable[[str], int] = disk_usage) -> None:
        self.data_dir = data_dir
        self.pods = pods
        self.period = period
        self.on_exceeded = on_exceeded
        self.measure = measure
        self._lock = threading.Lock()
        self._usage: dict[str, dict[str, int]] = {}  # pod uid -> volume -> bytes

    def usage(self, uid: str) -> dict[str, int]:
        with self._lock:
            return dict(self._usage.get(uid) or {})

    def sample(self) -> None:
        measured: dict[str, dict[str, int]] = {}
        exceeded = False
        for pod in list(self.pods()):
            if not active(pod):
                continue
            uid = pod["metadata"]["uid"]
            for name in limited_empty_dirs(pod):
                path = podspec.empty_dir_path(self.data_dir, uid, name)
                if os.path.isdir(path):
                    measured.setdefault(uid, {})[name] = self.measure(path)
            exceeded = exceeded or decide(pod, measured.get(uid) or {}) is not None
        with self._lock:
            self._usage = measured
        if exceeded:
            self.on_exceeded()

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - keep measuring
                log.exception("measuring emptyDir usage failed")
            stop.wait(self.period)
