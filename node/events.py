"""Events the node agent records on pods (kubelet's ``FailedMount``, ``Evicted``).

The agent retries a failing step every pass, so a repeat of the same event
(same pod, reason and message) only bumps the first one's ``count`` and
``lastTimestamp``, at most every ``min_interval`` seconds. Recording never
raises: an event that cannot be written is only logged.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.timefmt import rfc3339

log = logging.getLogger(__name__)
Obj = dict[str, Any]
_MAX_REMEMBERED = 1024


class NodeEvents:
    def __init__(self, client: Client, node: str, clock: Callable[[], float] = time.time,
                 min_interval: float = 10.0) -> None:
        self.client = client
        self.node = node
        self.clock = clock
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple, tuple[Obj, float]] = OrderedDict()  # -> (event, when)

    def warning(self, pod: Obj, reason: str, message: str) -> None:
        self.event(pod, "Warning", reason, message)

    def event(self, pod: Obj, etype: str, reason: str, message: str) -> None:
        meta = pod["metadata"]
        key = (meta.get("uid"), etype, reason, message)
        now = self.clock()
        with self._lock:
            known = self._seen.get(key)
            if known is not None and now - known[1] < self.min_interval:
                return
        try:
            if known is not None:
                ev = copy.deepcopy(known[0])
                ev["count"] = int(ev.get("count") or 1) + 1
                ev["lastTimestamp"] = rfc3339(now)
                ev["metadata"].pop("resourceVersion", None)
                stored = self.client.update(ev)  # Events are created on update if gone
            else:
                stored = self.client.create(self._new(pod, etype, reason, message, now))
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.warning("could not record event %s on pod %s: %s", reason, meta.get("name"), e)
            return
        with self._lock:
            self._seen[key] = (stored, now)
            while len(self._seen) > _MAX_REMEMBERED:
                self._seen.popitem(last=False)

    def _new(self, pod: Obj, etype: str, reason: str, message: str, now: float) -> Obj:
        meta = pod["metadata"]
        ns = meta.get("namespace") or "default"
        ts = rfc3339(now)
        return {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": f"{meta['name']}.{int(now * 1e9):x}", "namespace": ns},
            "involvedObject": {"kind": "Pod", "apiVersion": "v1", "name": meta["name"],
                               "namespace": ns, "uid": meta.get("uid", "")},
            "reason": reason, "message": message, "type": etype,
            "source": {"component": "kubelet", "host": self.node},
            "firstTimestamp": ts, "lastTimestamp": ts, "count": 1,
            "reportingComponent": "kubelet", "reportingInstance": self.node,
        }
