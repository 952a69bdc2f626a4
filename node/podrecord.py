"""What the node agent's sync loop keeps per pod, and how a pod worker
hands its results back.

The sync loop owns every ``PodRecord``; no other thread reads or writes
one. To change a pod it hands a worker a ``PodTask`` (a copy of what the
worker needs); the worker fills in the task's outputs and returns it
through its future, and the loop folds it back into the record once the
future is done (``PodRecord.collect``).
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from .runtime import ContainerInfo

Obj = dict[str, Any]


@dataclass
class PodTask:
    """One worker's job. In: the pod as the loop saw it. In and out: the
    status last written, whether the pod was drained, and why containers
    are not running (the worker's own copy)."""

    uid: str
    pod: Obj | None
    containers: list[ContainerInfo]
    api_ok: bool
    first_seen: float | None
    written: Obj | None
    drained: bool
    waiting: dict[str, tuple[str, str]]  # container name -> (reason, message)
    finished_at: float = 0.0  # time.monotonic() when the worker finished
    # The pod as this task's last status write stored it: a second write in the
    # same task (ContainerCreating, then Running) starts from it, not from the
    # stale ``pod`` (which would cost a Conflict, a GET and another PUT).
    stored: Obj | None = None


@dataclass
class PodRecord:
    uid: str
    first_seen: float | None = None  # when the agent first saw the pod bound here
    written: Obj | None = None  # the status the agent last wrote
    drained: bool = False  # terminating, and no proxy sends it new connections any more
    # why containers could not start (ErrImagePull, ...): container name -> (reason, message)
    waiting: dict[str, tuple[str, str]] = field(default_factory=dict)
    done_at: float = 0.0  # time.monotonic() when its last worker finished
    worker: Future[PodTask] | None = field(default=None, repr=False)

    def task(self, pod: Obj | None, containers: list[ContainerInfo], api_ok: bool) -> PodTask:
        return PodTask(self.uid, pod, containers, api_ok, self.first_seen, self.written,
                       self.drained, dict(self.waiting))

    def collect(self) -> bool:
        """Fold a finished worker's results in; False while one still runs."""
        if self.worker is None:
            return True
        if not self.worker.done():
            return False
        worker, self.worker = self.worker, None
        if worker.cancelled():  # the agent is shutting down
            return True
        task = worker.result()  # the worker catches everything
        self.written, self.drained, self.done_at = task.written, task.drained, task.finished_at
        self.waiting = task.waiting
        return True


class RecentVersions:
    """The resourceVersions of the agent's own latest writes (bounded,
    thread-safe): the pod watch does not wake the loop for them. The watch
    event of a write can arrive before the write's answer (and its
    resourceVersion) does, so the status being written counts too, until the
    answer is in."""

    def __init__(self, size: int = 256) -> None:
        self._lock = threading.Lock()
        self._versions: deque[str] = deque(maxlen=size)
        self._writing: dict[str, Obj] = {}  # pod uid -> the status being written

    def writing(self, uid: str, status: Obj | None) -> None:
        """``status`` is being written for pod ``uid`` (None: no more)."""
        with self._lock:
            if status is None:
                self._writing.pop(uid, None)
            else:
                self._writing[uid] = status

    def add(self, rv: str) -> None:
        with self._lock:
            self._versions.append(rv)

    def __contains__(self, rv: object) -> bool:
        with self._lock:
            return rv in self._versions

    def own(self, old: Obj | None, new: Obj) -> bool:
        """Whether ``new`` is one of our writes: its resourceVersion, or a change
        from ``old`` of nothing but the status being written."""
        meta = new.get("metadata") or {}
        if meta.get("resourceVersion") in self:
            return True
        with self._lock:
            status = self._writing.get(meta.get("uid", ""))
        return (status is not None and old is not None and new.get("status") == status
                and only_status_changed(old, new))


def only_status_changed(old: Obj, new: Obj) -> bool:
    """Whether two versions of an object differ in nothing but status and resourceVersion."""
    def rest(obj: Obj) -> Obj:
        meta = {k: v for k, v in (obj.get("metadata") or {}).items()
                if k not in ("resourceVersion", "managedFields")}
        return {k: v for k, v in obj.items() if k != "status"} | {"metadata": meta}
    return rest(old) == rest(new)
