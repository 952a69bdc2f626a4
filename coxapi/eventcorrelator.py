"""Which Event writes to make: aggregation and rate limiting (pure, no I/O).

Like client-go's EventCorrelator, repeated events do not become new objects:
all events of one (object, fieldPath, type, reason) share one Event whose
``count`` grows, whose ``lastTimestamp`` moves and whose ``message`` is the
latest. Writes are rate-limited per Event: the first occurrence is written at
once, later ones are folded in and written at most once per
``min_interval`` seconds. A crash loop therefore costs one Event and at most
one write per ``min_interval``, however fast it spins; the number of Events
an object can have is bounded by its containers times the reasons there are.

The caller takes ``due()`` writes, performs them (create, or a merge patch of
``count``/``lastTimestamp``/``message``) and reports each back with
``written()``; a write that failed stays due, an Event found deleted is
created again.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .jsoncopy import json_copy
from .timefmt import rfc3339

Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
Key = tuple[str, str, str, str, str, str]  # uid, namespace, name, fieldPath, type, reason


def object_reference(obj: Obj, field_path: str = "") -> Obj:
    meta = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind", ""), "name": meta.get("name", ""),
           "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


@dataclass
class Write:
    key: Key
    event: Obj  # the whole Event as it should now be stored
    create: bool  # False: only count, lastTimestamp and message changed


def perform(w: Write, create: Callable[[Obj], object],
            fold: Callable[[Obj], object]) -> tuple[bool, bool]:
    """Make one write with the caller's ``create`` (the whole Event) or ``fold``
    (its count, lastTimestamp and message into the stored one): ``(written,
    gone)`` for ``EventCorrelator.written``. A create answered AlreadyExists was
    made before and its answer lost, so it is folded instead; other errors
    than NotFound (gone) are the caller's to report."""
    try:
        if w.create:
            try:
                create(w.event)
            except errors.AlreadyExists:
                return perform(Write(w.key, w.event, False), create, fold)
        else:
            fold(w.event)
        return True, False
    except errors.NotFound:
        return False, True


@dataclass
class _Entry:
    event: Obj
    created: bool = False
    written_at: float | None = None


class EventCorrelator:
    def __init__(self, component: str, host: str = "",
                 clock: Callable[[], float] = time.time, min_interval: float = 10.0,
                 max_events: int = 4096) -> None:
        self.component = component
        self.host = host
        self.clock = clock
        self.min_interval = min_interval
        self.max_events = max_events
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        # the keys of the entries with an occurrence not written yet (a dict as
        # an ordered set): what is due is looked for among them alone, not
        # among every Event remembered
        self._dirty: dict[Key, None] = {}
        self._seq = 0
        self.dropped = 0  # Events forgotten before their latest occurrence was written

    def observe(self, obj: Obj, etype: str, reason: str, message: str,
                field_path: str = "") -> Key:
        """Record one occurrence; returns the key of the Event it counts on."""
        ref = object_reference(obj, field_path)
        # Node events carry namespace "default" (kubelet does the same).
        ns = ref.get("namespace") or "default"
        key: Key = (ref["uid"], ns, ref["name"], field_path, etype, reason)
        now = self.clock()
        stamp = rfc3339(now)
        entry = self._entries.get(key)
        if entry is not None:
            ev = entry.event
            ev["count"] = int(ev.get("count") or 1) + 1
            ev["lastTimestamp"] = stamp
            ev["message"] = message
            self._dirty[key] = None
            self._entries.move_to_end(key)
            return key
        self._seq += 1
        name = f"{ref['name']}.{int(now * 1e9):x}{self._seq:04x}"
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        self._entries[key] = _Entry({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": ref, "reason": reason, "message": message, "type": etype,
            "source": source, "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": self.component,
            **({"reportingInstance": self.host} if self.host else {}),
        })
        self._dirty[key] = None
        while len(self._entries) > self.max_events:
            old, _ = self._entries.popitem(last=False)
            if old in self._dirty:  # forgotten before its latest occurrence was written
                del self._dirty[old]
                self.dropped += 1
        return key

    def due(self) -> list[Write]:
        """The writes to make now (copies; the caller may keep them)."""
        now = self.clock()
        out = []
        for key in self._dirty:
            e = self._entries[key]
            if e.created and e.written_at is not None and now - e.written_at < self.min_interval:
                continue
            out.append(Write(key, json_copy(e.event), not e.created))
        return out

    def next_due_in(self) -> float | None:
        """Seconds until the next pending write is due (0: now), None if none is pending."""
        now = self.clock()
        waits = [0.0 if not e.created or e.written_at is None
                 else max(0.0, e.written_at + self.min_interval - now)
                 for e in map(self._entries.__getitem__, self._dirty)]
        return min(waits) if waits else None

    def written(self, w: Write, ok: bool = True, gone: bool = False) -> None:
        """Report a write's outcome: ``ok``; or ``gone`` (the Event was deleted or
        expired: it is created again, count and all, at the next write)."""
        e = self._entries.get(w.key)
        if e is None:
            return
        if gone:
            e.created = False
            self._dirty[w.key] = None
            return
        if not ok:
            return
        e.created = True
        e.written_at = self.clock()
        # Still dirty if it happened again while the write was under way.
        if e.event.get("count") == w.event.get("count"):
            self._dirty.pop(w.key, None)

    def pending(self) -> int:
        return len(self._dirty)
