"""MemoryStore: the store's API in one process with no Raft, for unit tests of
the layers above. Commands go through the same state machine as RaftStore."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from . import commands as C
from .base import StoreBase
from .config import StoreConfig


class MemoryStore(StoreBase):
    """Leases expire on ``clock`` (monotonic by default): checked on every call,
    or explicitly with ``expire_leases()`` (handy with a fake clock)."""

    def __init__(self, config: StoreConfig | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__(config or StoreConfig(), clock)
        self._wall = wall_clock
        self._submit_lock = threading.Lock()
        self._closed = False

    def _submit(self, cmd: C.Command) -> Any:
        self.expire_leases()
        return self._apply_batch([cmd])[0]

    def _apply_batch(self, cmds: list[C.Command]) -> list[Any]:
        with self._submit_lock:
            return self._apply(C.batch(cmds, self._wall(), self.config.limits()))

    def _read_barrier(self) -> None:
        self.expire_leases()

    def expire_leases(self) -> list[int]:
        """Expire every lease whose deadline passed; return their ids."""
        due = self._leases.due()
        if due:
            self._apply_batch([C.lease_expire(lid) for lid in due])
        return due

    def is_leader(self) -> bool:
        return not self._closed

    def status(self) -> dict:
        return {"id": "memory", "role": "leader", "leader": "memory", "term": 1,
                "commit_index": self.revision(), "applied_index": self.revision(),
                "peers": [], **self._base_status()}

    def close(self) -> None:
        self._closed = True
        self._hub.close_all()
