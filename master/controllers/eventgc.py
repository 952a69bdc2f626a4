"""Event expiry: Events whose last occurrence is older than ``event_ttl``
are deleted (the API server's one-hour event TTL in Kubernetes), so they
do not pile up in the replicated store."""

from __future__ import annotations

import logging

from coxapi import errors, timefmt

from .base import Context, Controller

log = logging.getLogger(__name__)


class EventGarbageCollector(Controller):
    name = "event-garbage-collector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.period = self.config.event_gc_period

    def periodic(self) -> None:
        self.queue.add("expire")

    def reconcile(self, key: str) -> float | None:
        self.expire()
        return None

    def expire(self) -> int:
        """Delete expired events; returns how many. Pages through the store
        rather than caching every event in an informer."""
        cutoff = self.config.clock() - self.config.event_ttl
        deleted = 0
        token = None
        while True:
            items, _, token = self.objects.list("Event", limit=500, continue_token=token)
            for ev in items:
                last = timefmt.parse_epoch(ev.get("lastTimestamp") or ev.get("eventTime")
                                   or ev["metadata"].get("creationTimestamp"))
                if last is None or last >= cutoff:
                    continue
                try:
                    self.objects.delete("Event", ev["metadata"].get("namespace"),
                                        ev["metadata"]["name"],
                                        expect_resource_version=ev["metadata"]["resourceVersion"])
                    deleted += 1
                except (errors.NotFound, errors.Conflict):
                    continue  # gone, or just bumped: no longer expired
            if not token:
                return deleted
