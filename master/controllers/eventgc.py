"""Expiry of the Events stored without a store lease.

Every Event write takes a store lease now (master.eventleases), so the store
deletes an Event once its TTL after the last write has passed, as etcd does
for kube-apiserver; nothing scans the Events for that. Events stored by an
earlier coxswain, before the leader's controllers wrote theirs on a lease,
have none: once per leadership term this controller pages through the
Events, deletes those whose last occurrence is older than ``event_ttl``, and
deletes each of the others when its time comes (unless it was written again
since: that write gave it a lease). A pass every ``event_gc_period`` looks
only at what is due.
"""

from __future__ import annotations

import heapq
import logging

from coxapi import errors, timefmt

from .base import Context, Controller

log = logging.getLogger(__name__)


class EventGarbageCollector(Controller):
    name = "event-garbage-collector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.period = self.config.event_gc_period
        # (expires at, namespace, name, resourceVersion) of the lease-less Events;
        # None until this term's sweep has found them
        self._due: list[tuple[float, str, str, str]] | None = None

    def periodic(self) -> None:
        self.queue.add("expire")

    def reconcile(self, key: str) -> float | None:
        if self._due is None:
            self._due = self.sweep()
        self.expire()
        return None

    def sweep(self) -> list[tuple[float, str, str, str]]:
        """When each Event stored without a lease expires (a heap)."""
        due: list[tuple[float, str, str, str]] = []
        for ev in self.objects.unleased("Event"):
            meta = ev["metadata"]
            last = timefmt.parse_epoch(ev.get("lastTimestamp") or ev.get("eventTime")
                                       or meta.get("creationTimestamp"))
            if last is not None:
                due.append((last + self.config.event_ttl, meta.get("namespace") or "",
                            meta["name"], meta["resourceVersion"]))
        heapq.heapify(due)
        if due:
            log.info("%d Events stored without a lease expire by this controller", len(due))
        return due

    def expire(self) -> int:
        """Delete the lease-less Events whose time has come; returns how many."""
        now = self.config.clock()
        deleted = 0
        due = self._due or []
        while due and due[0][0] <= now:
            entry = heapq.heappop(due)
            _, namespace, name, version = entry
            try:
                self.objects.delete("Event", namespace, name, expect_resource_version=version)
                deleted += 1
            except (errors.NotFound, errors.Conflict):
                continue  # gone, or written since (on a lease)
            except Exception:
                heapq.heappush(due, entry)  # tried again on the next pass
                raise
        return deleted
