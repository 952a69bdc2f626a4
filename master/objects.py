"""API objects over the replicated store.

The one place that knows how an API object is kept in raftstore: its key,
how ``resourceVersion`` maps to the key's ``mod_revision``, and keeping the
metadata the server owns (``coxapi.meta.SERVER_META``). The API
handlers and the controllers both go through it, so an update is always a
compare-and-swap on the version the writer read: a stale writer gets
``Conflict``, never a silent overwrite.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from coxapi import errors, kinds, labels
from coxapi.jsoncopy import json_copy
from coxapi.meta import SERVER_META, drop_server_meta, is_version, new_uid
from coxapi.retry import retry_on_conflict
from coxapi.timefmt import now_rfc3339
from raftstore import Store
from raftstore import errors as store_errors
from raftstore.base import delete_async, put_async
from raftstore.commands import MAX_VALUE_BYTES
from raftstore.nonblocking import WouldBlock
from raftstore.types import KeyValue

from .admission import quota

Obj = dict[str, Any]
Kind = kinds.Kind

# Retry-After (s) of a 503 for want of quorum: an election takes about a second
NO_QUORUM_RETRY_AFTER = 1


def expected_revision(rv: object) -> int:
    """The store revision a client's ``resourceVersion`` names (the
    compare-and-swap precondition); 400 naming the field when it names none."""
    if isinstance(rv, int) and not isinstance(rv, bool) and rv >= 0:
        return rv
    if is_version(rv):
        return int(rv)
    raise errors.BadRequest(f"metadata.resourceVersion: invalid value {str(rv)[:64]!r}: must be "
                            f"a resourceVersion the server returned")


def _new_entry(obj: Obj) -> tuple[Kind, str, str, Obj]:
    """A new object's kind, name, storage key and stored value."""
    k = _resolve(obj["kind"])
    obj = fresh(k, obj)
    meta = obj["metadata"]
    return k, meta["name"], k.storage_key(meta.get("namespace"), meta["name"]), _stored(obj)


def _create_error(e: store_errors.StoreError, k: Kind, name: str) -> errors.ApiError:
    if isinstance(e, store_errors.CompareFailed):
        return errors.AlreadyExists(f'{k.plural} "{name}" already exists',
                                    {"name": name, "kind": k.plural})
    return translate_store_error(e, k, name)


def _resolve(kind: Kind | str) -> Kind:
    return kind if isinstance(kind, kinds.Kind) else kinds.lookup(kind)


def to_object(kind: Kind, kv: KeyValue) -> Obj:
    """The API object of a stored key-value, made of ``kv.value`` in place: the
    store decodes a fresh value for each reader (every read and write result,
    and every watcher's event: raftstore.watch), so it is the caller's alone."""
    obj = kv.value
    obj["apiVersion"] = kind.api_version
    obj["kind"] = kind.kind
    obj.setdefault("metadata", {})["resourceVersion"] = str(kv.mod_revision)
    return obj


def event_object(kind: Kind, ev: Any) -> tuple[str, Obj]:
    """A store event as an API watch event: ``(ADDED|MODIFIED|DELETED, obj)``."""
    if ev.type == "DELETE":
        obj = to_object(kind, ev.kv)
        obj["metadata"]["resourceVersion"] = str(ev.revision)
        return "DELETED", obj
    created = ev.kv.create_revision == ev.kv.mod_revision
    return ("ADDED" if created else "MODIFIED"), to_object(kind, ev.kv)


def _stored(obj: Obj) -> Obj:
    """What is kept of ``obj``: all but ``resourceVersion`` (the key's
    ``mod_revision``). Shares everything below ``metadata`` with ``obj``: the
    store encodes the value to JSON before the put returns."""
    meta = obj.get("metadata", {})
    return {**obj, "metadata": {f: v for f, v in meta.items() if f != "resourceVersion"}}


def _spec_changed(old: Obj, new: Obj) -> bool:
    def body(o: Obj) -> str:
        return json.dumps({k: v for k, v in o.items()
                           if k not in ("metadata", "status", "apiVersion", "kind")},
                          sort_keys=True)
    return body(old) != body(new)


def fresh(kind: Kind, obj: Obj) -> Obj:
    """``obj`` as a create stores it: new uid, creation time and generation 1
    (``managedFields`` kept: only the API server sets them, after dropping a
    client's).
    A copy one level into the metadata, all this changes (see _stored)."""
    given = obj.get("metadata") or {}
    meta = drop_server_meta(dict(given))
    if "managedFields" in given:  # the API server's own (server-side apply)
        meta["managedFields"] = given["managedFields"]
    if not kind.namespaced:
        meta.pop("namespace", None)
    meta["uid"] = new_uid()
    meta["creationTimestamp"] = now_rfc3339()
    meta["generation"] = 1
    return {**obj, "metadata": meta}


def successor(old: Obj, obj: Obj) -> Obj:
    """``obj`` as an update of ``old`` stores it: server-owned metadata kept
    (``managedFields`` unless the writer, the API server, brings them),
    ``generation`` grown when the spec changed. A copy as deep as what
    changes (see _stored)."""
    new_meta = dict(obj.get("metadata") or {})
    new = {**obj, "metadata": new_meta}
    for f in SERVER_META:
        if f in old["metadata"] and not (f == "managedFields" and f in new_meta):
            new_meta[f] = old["metadata"][f]
    if _spec_changed(old, new):
        new_meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
    return new


def modified_conflict(kind: Kind, name: str) -> errors.Conflict:
    """The 409 of a write made against a version that is no longer the latest."""
    return errors.Conflict(
        f'Operation cannot be fulfilled on {kind.plural} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again")


def translate_store_error(e: Exception, kind: Kind, name: str) -> errors.ApiError:
    if isinstance(e, store_errors.CompareFailed):
        return modified_conflict(kind, name)
    if isinstance(e, store_errors.KeyNotFound):
        return errors.NotFound(f'{kind.plural} "{name}" not found')
    if isinstance(e, store_errors.Compacted):
        return errors.Gone(f"too old resource version: {e}")
    if isinstance(e, store_errors.ValueTooLarge):
        # Kubernetes answers etcd's "request is too large" with a 413 too.
        return errors.RequestEntityTooLarge(
            f"{kind.plural} \"{name}\" is too large to store: request is too large "
            f"(an object may be {MAX_VALUE_BYTES} bytes at most)")
    if isinstance(e, store_errors.QuotaExceeded):
        return errors.ApiError.from_status(
            {"code": 507, "reason": "InsufficientStorage",
             "message": f"the store is full (quota exceeded): {e}"})
    if isinstance(e, store_errors.Unavailable):
        message = f"the control plane has no quorum: {e}"
        if e.outcome_unknown:
            return errors.Unavailable(message, {"retryAfterSeconds": NO_QUORUM_RETRY_AFTER})
        return errors.not_applied(message, retry_after=NO_QUORUM_RETRY_AFTER)
    return errors.InternalError(f"store error: {e}")


class _Unconfirmed(Exception):
    """A decision made on this replica's copy that only the latest may confirm."""


class ObjectList(NamedTuple):
    """One page of a list: the items, the store revision they were read at,
    and the continue token (the last key returned) when more remain."""

    items: list[Obj]
    resource_version: str
    continue_token: str | None


class ObjectStore:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock

    # ---- reads -----------------------------------------------------------

    def get(self, kind: Kind | str, namespace: str | None, name: str,
            linearizable: bool = True) -> Obj:
        k = _resolve(kind)
        try:
            kv = self.store.get(k.storage_key(namespace, name), linearizable=linearizable)
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, name) from e
        if kv is None:
            raise errors.NotFound(f'{k.plural} "{name}" not found')
        return to_object(k, kv)

    def get_local_first(self, kind: Kind | str, namespace: str | None, name: str,
                        usable: Callable[[Obj], bool] | None = None) -> Obj:
        """This replica's copy, as admission reads Kubernetes' watch cache: in
        memory, no Raft round trip, and it already holds every write made
        through this master. A copy it lacks (or one ``usable`` turns down,
        e.g. not yet showing a binding) may be a write through another master
        a moment ago, so the answer then is the latest, through Raft."""
        try:
            obj = self.get(kind, namespace, name, linearizable=False)
        except errors.NotFound:
            pass
        else:
            if usable is None or usable(obj):
                return obj
        return self.get(kind, namespace, name)

    def list(self, kind: Kind | str, namespace: str | None = None,
             selector: labels.Selector = (), predicate: Callable[[Obj], bool] | None = None,
             limit: int = 0, continue_token: str | None = None,
             linearizable: bool = True) -> ObjectList:
        """One page (all items when ``limit`` is 0); the continue token is
        opaque to clients."""
        k = _resolve(kind)
        prefix = k.storage_prefix(namespace)
        items: list[Obj] = []
        start_after = continue_token
        revision = 0
        while True:
            try:
                res = self.store.range(prefix, limit=limit, start_after=start_after,
                                       linearizable=linearizable)
            except store_errors.StoreError as e:
                raise translate_store_error(e, k, prefix) from e
            revision = revision or res.revision
            last_key = None
            for kv in res.kvs:
                last_key = kv.key
                obj = to_object(k, kv)
                if selector and not labels.matches(selector, obj["metadata"].get("labels")):
                    continue
                if predicate and not predicate(obj):
                    continue
                items.append(obj)
                if limit and len(items) >= limit:
                    more = res.more or kv is not res.kvs[-1]
                    return ObjectList(items, str(revision), kv.key if more else None)
            if not res.more or not limit:
                return ObjectList(items, str(revision), None)
            start_after = last_key

    def unleased(self, kind: Kind | str, page: int = 500) -> Iterator[Obj]:
        """Every object of ``kind`` stored without a store lease, a page of the
        store at a time (linearizable reads)."""
        k = _resolve(kind)
        prefix = k.storage_prefix(None)
        start_after = None
        while True:
            try:
                res = self.store.range(prefix, limit=page, start_after=start_after)
            except store_errors.StoreError as e:
                raise translate_store_error(e, k, prefix) from e
            for kv in res.kvs:
                if not kv.lease:
                    yield to_object(k, kv)
            if not res.more or not res.kvs:
                return
            start_after = res.kvs[-1].key

    # ---- writes ----------------------------------------------------------

    def create(self, obj: Obj, lease: int = 0) -> Obj:
        """Store a new object; ``lease`` (a store lease id) gives it a TTL."""
        k, name, key, value = _new_entry(obj)
        try:
            kv = (quota.create_charged(self.store, k, key, value, lease) if k.namespaced
                  else None) or self.store.put(key, value, lease=lease, expect_mod_revision=0)
        except store_errors.StoreError as e:
            raise _create_error(e, k, name) from e
        return to_object(k, kv)

    async def create_async(self, obj: Obj, lease: int = 0) -> Obj:
        """``create`` on an event loop (within raftstore's ``nonblocking``):
        the commit is awaited. A create a quota charges is a transaction this
        does not make: ``WouldBlock``, and the caller creates it in a thread."""
        k, name, key, value = _new_entry(obj)
        if k.namespaced and quota.charged(self.store, k, value):
            raise WouldBlock(f"{k.plural} are charged to a quota in this namespace")
        try:
            kv = await put_async(self.store)(key, value, lease=lease, expect_mod_revision=0)
        except store_errors.StoreError as e:
            raise _create_error(e, k, name) from e
        return to_object(k, kv)

    def update(self, obj: Obj, old: Obj | None = None, lease: int = 0) -> Obj:
        """Compare-and-swap replace at ``metadata.resourceVersion`` (or
        unconditionally when it is empty). Server-owned metadata is kept from
        the stored object; ``generation`` grows when the spec changes. A put
        replaces the key's lease: pass ``lease`` to keep one."""
        k, name, key, value, expect = self._replacement(obj, old)
        try:
            kv = self.store.put(key, value, lease=lease, expect_mod_revision=expect)
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, name) from e
        return to_object(k, kv)

    async def update_async(self, obj: Obj, old: Obj, lease: int = 0) -> Obj:
        """``update`` on an event loop (within raftstore's ``nonblocking``): the
        commit is awaited. ``old`` is required: reading it may wait for the log."""
        k, name, key, value, expect = self._replacement(obj, old)
        try:
            kv = await put_async(self.store)(key, value, lease=lease, expect_mod_revision=expect)
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, name) from e
        return to_object(k, kv)

    def _replacement(self, obj: Obj, old: Obj | None) -> tuple[Kind, str, str, Obj, int]:
        """An update's kind, name, key, stored value and expected revision."""
        k = _resolve(obj["kind"])
        meta = obj.get("metadata", {})
        name, ns = meta["name"], meta.get("namespace")
        if old is None:
            old = self.get(k, ns, name)
        new = successor(old, obj)
        rv = meta.get("resourceVersion")
        expect = expected_revision(rv if rv else old["metadata"]["resourceVersion"])
        return k, name, k.storage_key(ns, name), _stored(new), expect

    def guaranteed_update(self, kind: Kind | str, namespace: str | None, name: str,
                          mutate: Callable[[Obj], Obj | None], lease: int = 0) -> Obj:
        """Read, mutate, compare-and-swap; retry on Conflict. ``mutate`` returns
        the new object, or None to leave the object unchanged; the write takes
        ``lease`` (as ``update``).

        The first read is this replica's own, without a Raft round trip (as
        Kubernetes' GuaranteedUpdate starts from its watch cache): if that copy
        was stale the compare-and-swap fails and the write is tried again on the
        latest; "nothing to change" and NotFound on the local copy are confirmed
        on the latest too. A stale read costs a retry, never a lost write."""
        k = _resolve(kind)

        def attempt(local: bool) -> Obj:
            cur = self.get(k, namespace, name, linearizable=not local)
            new = mutate(json_copy(cur))
            if new is None or new == cur:
                if local:
                    raise _Unconfirmed()
                return cur
            return self.update(new, old=cur, lease=lease)
        first = [True]

        def once() -> Obj:
            if first and first.pop():
                try:
                    return attempt(local=True)
                except (_Unconfirmed, errors.NotFound, errors.Conflict):
                    pass
            return attempt(local=False)
        return retry_on_conflict(once)

    def delete(self, kind: Kind | str, namespace: str | None, name: str,
               expect_resource_version: str | None = None) -> Obj:
        k = _resolve(kind)
        try:
            kv = self.store.delete(
                k.storage_key(namespace, name),
                expect_mod_revision=expected_revision(expect_resource_version)
                if expect_resource_version else None)
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, name) from e
        return to_object(k, kv)

    async def delete_async(self, kind: Kind | str, namespace: str | None, name: str,
                           expect_resource_version: str) -> Obj:
        """``delete`` on an event loop (within raftstore's ``nonblocking``): the
        commit is awaited."""
        k = _resolve(kind)
        try:
            kv = await delete_async(self.store)(
                k.storage_key(namespace, name),
                expect_mod_revision=expected_revision(expect_resource_version))
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, name) from e
        return to_object(k, kv)

    # ---- watch -----------------------------------------------------------

    def watch(self, kind: Kind | str, namespace: str | None = None,
              resource_version: str | None = None,
              stop: Callable[[], bool] = lambda: False,
              poll: float = 1.0,
              opened: Callable[[Any], object] | None = None) -> Iterator[tuple[str, Obj] | None]:
        """Yield ``(ADDED|MODIFIED|DELETED, obj)`` after ``resource_version``
        (exclusive, as in Kubernetes). Yields ``None`` every ``poll`` seconds
        with no event so the caller can check ``stop`` or send a bookmark.
        ``opened`` is handed the store's watch once it is open: closing that (from
        any thread) ends the stream at once. Raises ``Gone`` when the version is
        compacted."""
        k = _resolve(kind)
        start = int(resource_version) + 1 if resource_version not in (None, "", "0") else 0
        try:
            w = self.store.watch(k.storage_prefix(namespace), start_revision=start)
        except store_errors.StoreError as e:
            raise translate_store_error(e, k, "") from e
        w.prev_kv = False  # API watch events carry the new (or last) object only
        if opened is not None:  # who may close it from another thread, to end this
            opened(w)
        try:
            while not stop():
                try:
                    ev = w.get(timeout=poll)
                except store_errors.StoreError as e:
                    raise translate_store_error(e, k, "") from e
                if ev is None:
                    if w.closed:
                        return
                    yield None
                    continue
                yield event_object(k, ev)
        finally:
            w.close()
