"""A write fence around the raw store: once sealed, no write leaves this
process. The leader seals it on losing leadership so that, after
``ControllerManager.stop`` returns, nothing more is written by its loops.
A write already in flight when the fence is sealed is waited for (briefly);
being a Raft command, it commits only if it still can (CAS guards the rest).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from raftstore import Store
from raftstore.errors import Unavailable
from raftstore.types import Compare, KeyValue, Op, RangeResult, TxnResult
from raftstore.watch import Watch

T = TypeVar("T")


class FencedStore:
    """A ``Store``: reads pass through, writes are refused once sealed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._open = True
        self._in_flight = 0

    def _fenced(self, write: Callable[[], T]) -> T:
        with self._cond:
            if not self._open:
                raise Unavailable("this master is no longer the leader")
            self._in_flight += 1
        try:
            return write()
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify_all()

    def seal(self, timeout: float) -> bool:
        """Refuse new writes; wait up to ``timeout`` for in-flight ones.
        Returns True if none is left in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._open = False
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Seal without waiting. The store itself belongs to the master: it stays open."""
        self.seal(0.0)

    # ---- writes (fenced) ----

    def put(self, key: str, value: dict[str, Any], *, lease: int = 0,
            expect_mod_revision: int | None = None) -> KeyValue:
        return self._fenced(lambda: self._store.put(
            key, value, lease=lease, expect_mod_revision=expect_mod_revision))

    def delete(self, key: str, *, expect_mod_revision: int | None = None) -> KeyValue:
        return self._fenced(lambda: self._store.delete(
            key, expect_mod_revision=expect_mod_revision))

    def delete_prefix(self, prefix: str) -> int:
        return self._fenced(lambda: self._store.delete_prefix(prefix))

    def txn(self, compares: list[Compare], success: list[Op],
            failure: list[Op] | None = None) -> TxnResult:
        return self._fenced(lambda: self._store.txn(compares, success, failure))

    def compact(self, revision: int) -> None:
        self._fenced(lambda: self._store.compact(revision))

    def lease_grant(self, ttl_seconds: float) -> int:
        return self._fenced(lambda: self._store.lease_grant(ttl_seconds))

    def lease_keepalive(self, lease_id: int) -> None:
        self._fenced(lambda: self._store.lease_keepalive(lease_id))

    def lease_revoke(self, lease_id: int) -> None:
        self._fenced(lambda: self._store.lease_revoke(lease_id))

    # ---- reads and the rest (pass through) ----

    def get(self, key: str, linearizable: bool = True) -> KeyValue | None:
        return self._store.get(key, linearizable=linearizable)

    def range(self, prefix: str, limit: int = 0, start_after: str | None = None,
              linearizable: bool = True) -> RangeResult:
        return self._store.range(prefix, limit=limit, start_after=start_after,
                                 linearizable=linearizable)

    def revision(self) -> int:
        return self._store.revision()

    def lease_ttl(self, lease_id: int) -> float | None:
        return self._store.lease_ttl(lease_id)

    def watch(self, prefix: str, start_revision: int = 0) -> Watch:
        return self._store.watch(prefix, start_revision=start_revision)

    def add_leadership_listener(self, fn: Callable[[bool], None]) -> None:
        self._store.add_leadership_listener(fn)

    def is_leader(self) -> bool:
        return self._store.is_leader()

    def status(self) -> dict[str, Any]:
        return self._store.status()
