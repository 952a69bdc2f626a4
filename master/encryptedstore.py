"""A ``Store`` that encrypts values at rest (``master.encryption``): every
value under an encrypted prefix is sealed before it is written, so it enters
the Raft log as ciphertext, and opened on every read, range, transaction
result and watch event. Other keys pass through untouched (one ``startswith``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from raftstore import Store
from raftstore.base import delete_async, put_async
from raftstore.types import Compare, Event, KeyValue, Op, RangeResult, TxnResult
from raftstore.watch import Watch

from .encryption import Transformer


class EncryptingStore:
    def __init__(self, store: Store, transformer: Transformer) -> None:
        self._store = store
        self.transformer = transformer

    # ---- value transformation ----

    def _open(self, kv: KeyValue | None) -> KeyValue | None:
        if kv is None or not self.transformer.applies(kv.key):
            return kv
        return dataclasses.replace(kv, value=self.transformer.open(kv.key, kv.value))

    def _open_kv(self, kv: KeyValue) -> KeyValue:
        if not self.transformer.applies(kv.key):
            return kv
        return dataclasses.replace(kv, value=self.transformer.open(kv.key, kv.value))

    def _open_event(self, ev: Event) -> Event:
        if not self.transformer.applies(ev.kv.key):
            return ev
        return dataclasses.replace(ev, kv=self._open_kv(ev.kv), prev_kv=self._open(ev.prev_kv))

    def _seal_op(self, op: Op) -> Op:
        if op.kind != "put" or op.value is None:
            return op
        return dataclasses.replace(op, value=self.transformer.seal(op.key, op.value))

    # ---- reads ----

    def get(self, key: str, linearizable: bool = True) -> KeyValue | None:
        return self._open(self._store.get(key, linearizable=linearizable))

    def range(self, prefix: str, limit: int = 0, start_after: str | None = None,
              linearizable: bool = True) -> RangeResult:
        res = self._store.range(prefix, limit=limit, start_after=start_after,
                                linearizable=linearizable)
        if not any(self.transformer.applies(kv.key) for kv in res.kvs):
            return res
        return dataclasses.replace(res, kvs=[self._open_kv(kv) for kv in res.kvs])

    def watch(self, prefix: str, start_revision: int = 0) -> Watch:
        w = self._store.watch(prefix, start_revision=start_revision)
        w.transform = self._open_event
        return w

    # ---- writes ----

    def put(self, key: str, value: dict[str, Any], *, lease: int = 0,
            expect_mod_revision: int | None = None) -> KeyValue:
        kv = self._store.put(key, self.transformer.seal(key, value), lease=lease,
                             expect_mod_revision=expect_mod_revision)
        return self._open_kv(kv)

    async def put_async(self, key: str, value: dict[str, Any], *, lease: int = 0,
                        expect_mod_revision: int | None = None) -> KeyValue:
        kv = await put_async(self._store)(key, self.transformer.seal(key, value), lease=lease,
                                          expect_mod_revision=expect_mod_revision)
        return self._open_kv(kv)

    def delete(self, key: str, *, expect_mod_revision: int | None = None) -> KeyValue:
        return self._open_kv(self._store.delete(key, expect_mod_revision=expect_mod_revision))

    async def delete_async(self, key: str, *,
                           expect_mod_revision: int | None = None) -> KeyValue:
        return self._open_kv(await delete_async(self._store)(
            key, expect_mod_revision=expect_mod_revision))

    def txn(self, compares: list[Compare], success: list[Op],
            failure: list[Op] | None = None) -> TxnResult:
        res = self._store.txn(compares, [self._seal_op(o) for o in success],
                              [self._seal_op(o) for o in failure or []])
        results = [self._open_kv(r) if isinstance(r, KeyValue) else r for r in res.results]
        return dataclasses.replace(res, results=results)

    # ---- the rest passes through ----

    def revision(self) -> int:
        return self._store.revision()

    def delete_prefix(self, prefix: str) -> int:
        return self._store.delete_prefix(prefix)

    def lease_grant(self, ttl_seconds: float) -> int:
        return self._store.lease_grant(ttl_seconds)

    def lease_keepalive(self, lease_id: int) -> None:
        self._store.lease_keepalive(lease_id)

    def lease_revoke(self, lease_id: int) -> None:
        self._store.lease_revoke(lease_id)

    def lease_ttl(self, lease_id: int) -> float | None:
        return self._store.lease_ttl(lease_id)

    def compact(self, revision: int) -> None:
        self._store.compact(revision)

    def add_leadership_listener(self, fn: Callable[[bool], None]) -> None:
        self._store.add_leadership_listener(fn)

    def is_leader(self) -> bool:
        return self._store.is_leader()

    def status(self) -> dict[str, Any]:
        return self._store.status()

    @property
    def membership(self) -> Any:
        """The Raft membership (raftstore.memberops), None for a store without."""
        return getattr(self._store, "membership", None)

    def close(self) -> None:
        self._store.close()
