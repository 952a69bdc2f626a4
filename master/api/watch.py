"""Watch streams: one JSON event per line, as Kubernetes sends them.

``events(...)`` yields encoded lines. It starts from a resourceVersion
(exclusive) or, with none / "0", first sends ADDED for every existing object
(from a list the caller already made, so a missing quorum is a plain 503
rather than a broken stream). Errors after the stream began, such as a
compacted revision (410 Gone) or a store that lost its leader (503), arrive
as an ``ERROR`` event carrying a Status, and end the stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from coxapi import errors, kinds, labels

from ..objects import ObjectStore
from . import fields
from .params import ListOptions

Obj = dict[str, Any]


def encode(event_type: str, obj: Obj) -> bytes:
    return (json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n").encode()


def _bookmark(kind: kinds.Kind, rv: str) -> bytes:
    return encode("BOOKMARK", {"kind": kind.kind, "apiVersion": kind.api_version,
                               "metadata": {"resourceVersion": rv}})


def events(objects: ObjectStore, kind: kinds.Kind, namespace: str | None, opts: ListOptions,
           initial: list[Obj] | None, start_rv: str, *, max_seconds: float, poll: float,
           bookmark_interval: float, stopping: threading.Event,
           leader_lost: Callable[[], bool] = lambda: False,
           clock: Callable[[], float] = time.monotonic) -> Iterator[bytes]:
    def selected(obj: Obj) -> bool:
        return (labels.matches(opts.label_selector, obj["metadata"].get("labels"))
                and fields.matches(opts.field_selector, obj))

    timeout = opts.timeout_seconds or max_seconds  # 0 means "the default", as in Kubernetes
    deadline = clock() + min(timeout, max_seconds)
    for obj in initial or []:
        yield encode("ADDED", obj)
    last_rv = start_rv
    last_sent = clock()

    def stop() -> bool:
        return stopping.is_set() or clock() >= deadline

    try:
        for item in objects.watch(kind, namespace, start_rv, stop=stop, poll=poll):
            if item is None:
                if leader_lost():
                    yield encode("ERROR", errors.Unavailable(
                        "this master's store has no leader (no quorum): it cannot see new "
                        "changes; watch again, through another master").to_status())
                    return
                if opts.allow_bookmarks and clock() - last_sent >= bookmark_interval:
                    last_sent = clock()
                    yield _bookmark(kind, last_rv)
                continue
            event_type, obj = item
            last_rv = obj["metadata"]["resourceVersion"]
            if selected(obj):
                last_sent = clock()
                yield encode(event_type, obj)
    except errors.ApiError as e:
        yield encode("ERROR", e.to_status())
