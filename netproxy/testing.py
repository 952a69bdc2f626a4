"""In-memory stand-ins for the API client and the kernel table, for tests and
the sync benchmark: ``FakeApi`` implements the list/watch half of
``coxapi.client.Client`` (resourceVersions, 410 Gone, broken streams);
``FakeTable`` records plans instead of writing them."""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

from coxapi.errors import Gone

from .plan import Change, Plan

Obj = dict[str, Any]


class FakeApi:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rv = 0
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._events: dict[str, list[tuple[int, str, Obj]]] = {}
        self._epoch = 0  # bumped by break_watches: open streams end with an error
        self._break_error: Exception | None = None
        self.compacted = 0  # watches from a revision below this get 410 Gone
        self.list_errors: dict[str, Exception] = {}  # kind -> raised by list() while set
        self.lists: Counter[str] = Counter()
        self.closed = False
        self.hang = False  # new watches block without a word, like a frozen master

    # ---- test side -------------------------------------------------------------

    def put(self, kind: str, obj: Obj) -> Obj:
        with self._cond:
            self._rv += 1
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", "default")
            meta["resourceVersion"] = str(self._rv)
            key = (meta["namespace"], meta["name"])
            store = self._objects.setdefault(kind, {})
            etype = "MODIFIED" if key in store else "ADDED"
            store[key] = obj
            self._events.setdefault(kind, []).append((self._rv, etype, obj))
            self._cond.notify_all()
            return obj

    def delete(self, kind: str, namespace: str, name: str) -> None:
        with self._cond:
            obj = self._objects.get(kind, {}).pop((namespace, name))
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._events.setdefault(kind, []).append((self._rv, "DELETED", obj))
            self._cond.notify_all()

    def break_watches(self, error: Exception | None = None, compact: bool = False) -> None:
        """End every open watch with ``error`` (default: 410 Gone); with
        ``compact``, older revisions can no longer be watched from."""
        with self._cond:
            self._epoch += 1
            self._break_error = error or Gone("too old resource version")
            if compact:
                self.compacted = self._rv + 1
            self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # ---- client side -------------------------------------------------------------

    def list(self, kind: str, namespace: str | None = None, **_: Any) -> Obj:
        with self._cond:
            self.lists[kind] += 1
            if kind in self.list_errors:
                raise self.list_errors[kind]
            items = [copy.deepcopy(o) for o in self._objects.get(kind, {}).values()]
            return {"items": items, "metadata": {"resourceVersion": str(self._rv)}}

    def watch(self, kind: str, namespace: str | None = None,
              resource_version: str | int | None = None, timeout_seconds: int | None = None,
              **_: Any) -> Iterator[tuple[str, Obj]]:
        rv = int(resource_version or 0)
        with self._cond:
            if self.hang:
                while not self.closed:
                    self._cond.wait()
                return
            if rv and rv < self.compacted:
                raise Gone(f"resourceVersion {rv} is too old")
            epoch = self._epoch
        deadline = None if timeout_seconds is None else timeout_seconds
        while True:
            with self._cond:
                if self._epoch != epoch:
                    raise self._break_error or Gone("watch ended")
                pending = [e for e in self._events.get(kind, []) if e[0] > rv]
                if not pending:
                    if self.closed:
                        return
                    if not self._cond.wait(deadline):
                        return  # the stream's timeoutSeconds passed
                    continue
            for erv, etype, obj in pending:
                rv = erv
                yield etype, copy.deepcopy(obj)


class FakeTable:
    """Records plans as ``NftTable`` would apply them (same return values)."""

    def __init__(self, table: str = "coxswain-proxy") -> None:
        self.table = table
        self.applied: Plan | None = None
        self.transactions = 0
        self.plans: list[Plan] = []
        self.fail_next = 0  # apply() raises this many times
        self.present = True
        self._cond = threading.Condition()

    def apply(self, plan: Plan, change: Change | None = None) -> bool:
        with self._cond:
            if self.fail_next:
                self.fail_next -= 1
                raise OSError("injected netlink failure")
            if plan == self.applied:
                return False
            self.applied = plan
            self.transactions += 1
            self.present = True
            self.plans.append(plan)
            self._cond.notify_all()
            return True

    def exists(self) -> bool:
        return self.present

    def delete(self) -> None:
        self.applied = None
        self.present = False

    def close(self) -> None:
        pass
