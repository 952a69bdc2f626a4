"""Kubernetes Events: what a controller did and why, on the object it did it to.

Identical events (same object, type, reason, message and source) are
aggregated like client-go's EventCorrelator: the existing Event's ``count``
is bumped and ``lastTimestamp`` moved, instead of writing a new object.
Recording never raises: an event that cannot be written is only logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.timefmt import rfc3339

from ..objects import ObjectStore

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NORMAL, WARNING = "Normal", "Warning"
_MAX_REMEMBERED = 4096


def involved_object(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    ref = {"kind": obj.get("kind", ""), "name": meta.get("name", ""),
           "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", ""),
           "resourceVersion": meta.get("resourceVersion", "")}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


class EventRecorder:
    def __init__(self, objects: ObjectStore, component: str, clock: Callable[[], float] = time.time,
                 host: str = "") -> None:
        self.objects = objects
        self.component = component
        self.host = host
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple, tuple[str, str]] = OrderedDict()  # -> (ns, event name)
        self._seq = 0

    def normal(self, obj: Obj, reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj: Obj, reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)

    def event(self, obj: Obj, etype: str, reason: str, message: str) -> None:
        try:
            self._record(obj, etype, reason, message)
        except Exception as e:  # noqa: BLE001 - an event is never worth a failure
            log.warning("could not record event %s on %s: %s", reason,
                        (obj.get("metadata") or {}).get("name"), e)

    def _record(self, obj: Obj, etype: str, reason: str, message: str) -> None:
        ref = involved_object(obj)
        ns = ref.get("namespace") or "default"
        key = (ref["kind"], ns, ref["name"], ref["uid"], etype, reason, message)
        now = rfc3339(self.clock())
        with self._lock:
            known = self._seen.get(key)
        if known is not None:
            def bump(ev: Obj) -> Obj:
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = now
                return ev
            try:
                self.objects.guaranteed_update("Event", known[0], known[1], bump)
                return
            except errors.NotFound:
                pass  # the event was deleted (or expired); write a new one
        with self._lock:
            self._seq += 1
            name = f"{ref['name']}.{int(self.clock() * 1e9):x}{self._seq:04x}"
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": ref, "reason": reason, "message": message, "type": etype,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": now, "lastTimestamp": now, "count": 1,
            "reportingComponent": self.component,
        }
        self.objects.create(event)
        with self._lock:
            self._seen[key] = (ns, name)
            while len(self._seen) > _MAX_REMEMBERED:
                self._seen.popitem(last=False)
