"""The proxies' record: the lowest Endpoints revision the live proxies have
applied, and how many are live, in one Lease that a terminating pod's drain
reads instead of every node's Lease (coxapi/proxyrecord.py).

Node Lease renewals fold into one pass per ``sync_throttle`` (the leader
recounts 100 Leases, not one per renewal), and the record is written only
when what it says changes. A periodic pass lets a proxy whose node stopped
renewing drop out of the count once its Lease is ``LIVE_WITHIN`` old.
"""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors, proxyrecord
from coxapi.kinds.lease import NODE_LEASE_NAMESPACE

from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
KEY = "proxies"


class ProxyRecordController(Controller):
    name = "proxy-record-controller"
    throttled = True
    period = 5.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.leases = ctx.informers["Lease"]
        self.leases.add_handler(**self.handlers(self._lease_changed))
        # what the record said at the last pass (a change of the live count is logged)
        self._written: proxyrecord.Applied | None = None

    def _lease_changed(self, lease: Obj) -> None:
        meta = lease.get("metadata") or {}
        if meta.get("namespace") == NODE_LEASE_NAMESPACE or (
                meta.get("namespace") == proxyrecord.RECORD_NAMESPACE
                and meta.get("name") == proxyrecord.RECORD_NAME):
            self.queue.add(KEY)  # also when someone else changed or deleted the record

    def periodic(self) -> None:
        self.queue.add(KEY)

    def reconcile(self, key: str) -> float | None:
        applied = proxyrecord.gather(self.leases.list(NODE_LEASE_NAMESPACE), self.config.clock())
        current = self.leases.get_by(proxyrecord.RECORD_NAMESPACE, proxyrecord.RECORD_NAME)
        if current is not None and proxyrecord.recorded(current) == applied:
            self._written = applied
            return None
        want = proxyrecord.record(applied)
        created = False
        if current is None:
            try:
                self.objects.create(want)
                created = True
            except errors.AlreadyExists:
                pass  # created meanwhile (this cache is behind): update it
        if not created:
            def mutate(cur: Obj) -> Obj:
                cur.setdefault("metadata", {}).setdefault("annotations", {}).update(
                    want["metadata"]["annotations"])
                return cur
            self.objects.guaranteed_update("Lease", proxyrecord.RECORD_NAMESPACE,
                                           proxyrecord.RECORD_NAME, mutate)
        if self._written is None or self._written.live != applied.live:
            log.info("proxies: %d live, the lowest applied Endpoints revision %d",
                     applied.live, applied.lowest)
        self._written = applied
        return None
