"""The public store API: ``Store``, the interface the layers above program
against, and ``StoreBase``, its implementation shared by the Raft-replicated
store and the in-process MemoryStore. Subclasses supply how a command reaches
the state machine (``_submit``) and how a read is made linearizable
(``_read_barrier``)."""

from __future__ import annotations

import itertools
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from . import commands as C
from . import nonblocking
from .config import StoreConfig
from .errors import InvalidArgument, StoreError
from .leases import LeaseClock
from .mvcc import MVCCState, materialize
from .types import Compare, KeyValue, Op, RangeResult, TxnResult
from .watch import Watch, WatchHub


class Store(Protocol):
    """What a store offers its users (the master's object layer, allocators,
    health checks). RaftStore and MemoryStore satisfy it through StoreBase;
    wrappers such as the master's write fence satisfy it structurally."""

    def get(self, key: str, linearizable: bool = True) -> KeyValue | None: ...

    def range(self, prefix: str, limit: int = 0, start_after: str | None = None,
              linearizable: bool = True) -> RangeResult: ...

    def revision(self) -> int: ...

    def put(self, key: str, value: dict[str, Any], *, lease: int = 0,
            expect_mod_revision: int | None = None) -> KeyValue: ...

    def delete(self, key: str, *, expect_mod_revision: int | None = None) -> KeyValue: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def txn(self, compares: list[Compare], success: list[Op],
            failure: list[Op] | None = None) -> TxnResult: ...

    def lease_grant(self, ttl_seconds: float) -> int: ...

    def lease_keepalive(self, lease_id: int) -> None: ...

    def lease_revoke(self, lease_id: int) -> None: ...

    def lease_ttl(self, lease_id: int) -> float | None: ...

    def compact(self, revision: int) -> None: ...

    def watch(self, prefix: str, start_revision: int = 0) -> Watch: ...

    def add_leadership_listener(self, fn: Callable[[bool], None]) -> None: ...

    def is_leader(self) -> bool: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


AsyncWrite = Callable[..., Awaitable[KeyValue]]


def put_async(store: object) -> AsyncWrite:
    """``store.put_async`` (a store's ``put`` for an event loop); a store
    without one (a wrapper that has none) raises ``WouldBlock`` when called."""
    return _async_write(store, "put_async")


def delete_async(store: object) -> AsyncWrite:
    """``store.delete_async``, as ``put_async``."""
    return _async_write(store, "delete_async")


def _async_write(store: object, name: str) -> AsyncWrite:
    fn = getattr(store, name, None)
    if fn is not None:
        return fn

    async def would_block(*args: Any, **kwargs: Any) -> KeyValue:
        raise nonblocking.WouldBlock(f"{type(store).__name__} has no {name}")
    return would_block


class StoreBase(ABC):
    def __init__(self, config: StoreConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self._lock = threading.RLock()  # guards _state; held while applying
        self._state = MVCCState()
        self._hub = WatchHub(config.watch_queue_size)
        self._leases = LeaseClock(clock)
        self._listeners: list[Callable[[bool], None]] = []
        # request ids: unique per store instance, cheap per write
        self._rid_prefix = uuid.uuid4().hex[:16]
        self._rid_seq = itertools.count(1)

    # ---- provided by subclasses ----

    @abstractmethod
    def _submit(self, cmd: C.Command) -> Any:
        """Get ``cmd`` applied (committed, and applied on this replica); return its result."""

    @abstractmethod
    def _read_barrier(self) -> None:
        """Return once this replica has applied everything committed before the call."""

    @abstractmethod
    def is_leader(self) -> bool: ...

    @abstractmethod
    def status(self) -> dict[str, Any]: ...

    @abstractmethod
    def close(self) -> None: ...

    # ---- the apply path (called by the log, or directly by MemoryStore) ----

    def _apply(self, command: C.Command) -> Any:
        with self._lock:
            result, events = self._state.apply_with_events(command)
            self._hub.publish(events)
        if command.get("op") == "batch":
            for cmd, res in zip(command["cmds"], result, strict=True):
                if cmd["op"][0] == "l":
                    self._leases.on_applied(cmd, res)
        return result

    def _write(self, cmd: C.Command) -> Any:
        nonblocking.check(f"a {cmd['op']} command")
        cmd["rid"] = f"{self._rid_prefix}{next(self._rid_seq)}"
        result = self._submit(cmd)
        if isinstance(result, StoreError):
            raise result
        return materialize(result)

    async def _write_async(self, cmd: C.Command) -> Any:
        cmd["rid"] = f"{self._rid_prefix}{next(self._rid_seq)}"
        result = await self._submit_async(cmd)
        if isinstance(result, StoreError):
            raise result
        return materialize(result)

    async def _submit_async(self, cmd: C.Command) -> Any:
        """``_submit`` for an event loop. This default suits a store whose
        submit never waits for a log (MemoryStore applies at once)."""
        return self._submit(cmd)

    # ---- reads ----

    def get(self, key: str, linearizable: bool = True) -> KeyValue | None:
        C.check_key(key)
        if linearizable:
            nonblocking.check("a linearizable read")
            self._read_barrier()
        with self._lock:
            return self._state.get(key)

    def range(self, prefix: str, limit: int = 0, start_after: str | None = None,
              linearizable: bool = True) -> RangeResult:
        C.check_prefix(prefix)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidArgument(f"limit must be a non-negative integer, got {limit!r}")
        if start_after is not None and not isinstance(start_after, str):
            raise InvalidArgument("start_after (the continue token) must be a string")
        if linearizable:
            nonblocking.check("a linearizable read")
            self._read_barrier()
        with self._lock:
            return self._state.range(prefix, limit, start_after)

    def revision(self) -> int:
        with self._lock:
            return self._state.revision

    # ---- writes ----

    def put(self, key: str, value: dict[str, Any], *, lease: int = 0,
            expect_mod_revision: int | None = None) -> KeyValue:
        return self._write(C.put(key, value, lease, expect_mod_revision))

    async def put_async(self, key: str, value: dict[str, Any], *, lease: int = 0,
                        expect_mod_revision: int | None = None) -> KeyValue:
        """``put`` for an event loop: awaits the commit instead of a thread waiting."""
        return await self._write_async(C.put(key, value, lease, expect_mod_revision))

    def delete(self, key: str, *, expect_mod_revision: int | None = None) -> KeyValue:
        return self._write(C.delete(key, expect_mod_revision))

    async def delete_async(self, key: str, *,
                           expect_mod_revision: int | None = None) -> KeyValue:
        """``delete`` for an event loop: awaits the commit instead of a thread waiting."""
        return await self._write_async(C.delete(key, expect_mod_revision))

    def delete_prefix(self, prefix: str) -> int:
        return self._write(C.delete_prefix(prefix))

    def txn(self, compares: list[Compare], success: list[Op],
            failure: list[Op] | None = None) -> TxnResult:
        return self._write(C.txn(compares, success, failure or []))

    def lease_grant(self, ttl_seconds: float) -> int:
        return self._write(C.lease_grant(ttl_seconds))

    def lease_keepalive(self, lease_id: int) -> None:
        self._write(C.lease_keepalive(lease_id))

    def lease_revoke(self, lease_id: int) -> None:
        self._write(C.lease_revoke(lease_id))

    def lease_ttl(self, lease_id: int) -> float | None:
        """Seconds left on ``lease_id`` by this replica's clock (None if unknown)."""
        return self._leases.remaining(lease_id)

    def compact(self, revision: int) -> None:
        self._write(C.compact(revision))

    # ---- watch ----

    def watch(self, prefix: str, start_revision: int = 0) -> Watch:
        C.check_prefix(prefix)
        C.check_revision(start_revision, "start_revision")
        with self._lock:
            replay = self._state.history_from(prefix, start_revision) if start_revision else []
            return self._hub.register(prefix, replay)

    # ---- leadership ----

    def add_leadership_listener(self, fn: Callable[[bool], None]) -> None:
        self._listeners.append(fn)

    def _notify_leadership(self, is_leader: bool) -> None:
        for fn in list(self._listeners):
            try:
                fn(is_leader)
            except Exception:  # noqa: BLE001 - a listener must not break the store
                import logging
                logging.getLogger(__name__).exception("leadership listener failed")

    def _base_status(self) -> dict[str, Any]:
        with self._lock:
            return {"revision": self._state.revision,
                    "compact_revision": self._state.compact_revision,
                    "db_size_bytes": self._state.db_size,
                    "live_bytes": self._state.live_bytes,
                    "quota_bytes": self._state.limits[0],
                    "alarms": self._state.alarms}
