"""The in-process ObjectStore seen through the informer's list/watch
protocol (``coxapi.informer.ListWatcher``), the shape of the HTTP client.

A quiet watch yields a ``BOOKMARK`` every ``poll`` seconds, as the API
server does on its streams; a stopping informer ends its stream at once
(``StoreStream.interrupt``), so the poll can be long: the leader's informers
(one per kind) no longer wake ten times a second each to look at a stop.

With ``metadata_only`` each object is cut to its type and metadata after
the selectors have seen it (Kubernetes' metadata informers, which its
garbage collector uses): a cache of ConfigMaps or Secrets then holds neither
their data nor, for Secrets, anything decrypted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from coxapi import labels

from .api import fields
from .objects import ObjectStore

Obj = dict[str, Any]


class StoreListWatcher:
    may_stall = False  # a quiet watch yields a bookmark every ``poll``

    def __init__(self, objects: ObjectStore, poll: float = 0.1,
                 metadata_only: bool = False) -> None:
        self.objects = objects
        self.poll = poll
        self.metadata_only = metadata_only

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, resource_version: str | None = None) -> Obj:
        """Always consistent (``resource_version`` is accepted and ignored)."""
        selector = labels.parse_selector(label_selector)
        by_fields = fields.parse(field_selector, kind)
        items, rv, _ = self.objects.list(kind, namespace, selector=selector,
                                         predicate=lambda o: fields.matches(by_fields, o))
        if self.metadata_only:
            items = [metadata_of(o) for o in items]
        return {"items": items, "metadata": {"resourceVersion": rv}}

    def watch(self, kind: str, namespace: str | None = None,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None,
              timeout_seconds: int | None = None) -> StoreStream:
        return StoreStream(lambda opened: self._events(
            kind, namespace, resource_version, label_selector, field_selector,
            timeout_seconds, opened))

    def _events(self, kind: str, namespace: str | None, resource_version: str | None,
                label_selector: str | None, field_selector: str | None,
                timeout_seconds: int | None,
                opened: Callable[[Any], object]) -> Generator[tuple[str, Obj], None, None]:
        selector = labels.parse_selector(label_selector)
        by_fields = fields.parse(field_selector, kind)
        deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        last = resource_version or "0"
        for item in self.objects.watch(
                kind, namespace, resource_version=resource_version, poll=self.poll,
                stop=lambda: deadline is not None and time.monotonic() >= deadline,
                opened=opened):
            if item is None:
                yield "BOOKMARK", {"kind": kind, "metadata": {"resourceVersion": last}}
                continue
            etype, obj = item
            last = obj["metadata"]["resourceVersion"]
            if (labels.matches(selector, obj["metadata"].get("labels"))
                    and fields.matches(by_fields, obj)):
                yield etype, metadata_of(obj) if self.metadata_only else obj


class StoreStream:
    """One in-process watch stream that ``interrupt`` ends at once, from any
    thread (closing the store's watch its reader waits on)."""

    def __init__(self, open_events: Callable[[Callable[[Any], object]],
                                             Generator[tuple[str, Obj], None, None]]) -> None:
        self._lock = threading.Lock()
        self._watch: Any = None
        self._interrupted = False
        self._events = open_events(self._opened)

    def _opened(self, watch: Any) -> None:
        with self._lock:
            self._watch = watch
            interrupted = self._interrupted
        if interrupted:
            watch.close()

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = True
            watch = self._watch
        if watch is not None:
            watch.close()

    def __iter__(self) -> StoreStream:
        return self

    def __next__(self) -> tuple[str, Obj]:
        return next(self._events)

    def close(self) -> None:
        """Close the stream (on its reader's thread)."""
        self._events.close()


def metadata_of(obj: Obj) -> Obj:
    """``obj`` as a metadata informer keeps it: type and metadata only."""
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": obj["metadata"]}
