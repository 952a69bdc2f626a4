"""The node heartbeat: its Lease in ``kube-node-lease`` and its ``Ready`` condition.

The node lifecycle controller on the masters marks a node NotReady (and in
time evicts its pods) when the Lease stops being renewed, so this runs in its
own thread, independent of how long a pod sync takes.

What a beat costs the masters is kept to kubelet's: the Lease is renewed from
the copy this node last wrote (read back only after a Conflict), and the Node
is read from a master's replica (``resourceVersion=0``) and written only when
its Ready condition would change, or ``report_period`` after the last write
(kubelet's nodeStatusReportFrequency; the usage figures ride on those writes).
With 100 nodes that is one write per node per beat instead of two writes and
two linearizable reads. The Metrics API's usage report (``usage_report``,
coxapi.usagereport) rides on every Lease renewal, so it is never older than
a beat plus a stats sample.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.jsoncopy import json_copy
from coxapi.proxyrecord import PROXY_REVISION_ANNOTATION
from coxapi.retry import retry_on_conflict
from coxapi.timefmt import now_rfc3339
from coxapi.usagereport import USAGE_ANNOTATION

from .registration import ready_condition

log = logging.getLogger(__name__)
Obj = dict[str, Any]
LEASE_NAMESPACE = "kube-node-lease"


def lease_object(node: str, duration: int) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": node, "namespace": LEASE_NAMESPACE},
            "spec": {"holderIdentity": node, "leaseDurationSeconds": duration,
                     "renewTime": now_rfc3339(micro=True)}}


class Heartbeat:
    def __init__(self, client: Client, node: str, usage: Callable[[], dict[str, str]],
                 period: float = 5.0, lease_duration: int = 40, report_period: float = 60.0,
                 reregister: Callable[[], object] | None = None,
                 problem: Callable[[], str | None] = lambda: None,
                 clock: Callable[[], float] = time.monotonic,
                 on_ready_change: Callable[[Obj, bool], None] = lambda *_: None,
                 usage_report: Callable[[], str | None] = lambda: None) -> None:
        self.usage_report = usage_report  # the Lease annotation for the Metrics API
        self.on_ready_change = on_ready_change  # (node, ready) after a written change
        self.reregister = reregister  # the Node was deleted: register it again (kubelet does)
        self.problem = problem  # why the node cannot run pods now (runtime down), or None
        self.client = client
        self.node = node
        self.usage = usage
        self.period = period
        self.lease_duration = lease_duration
        self.report_period = report_period
        self.clock = clock
        self._lease: Obj | None = None  # the Lease as this node last wrote it
        self._reported_at: float | None = None  # when the Node status was last written
        self.beats = 0  # successful renewals, for tests and logs
        self._failing = False
        self.proxy_revision = 0  # Endpoints revision this node's netproxy has applied
        self._published = 0
        self._kick = threading.Event()

    def publish_proxy_revision(self, revision: int) -> None:
        """Called by netproxy after each sync: put the revision on the Lease
        now rather than at the next beat, since pod stops elsewhere wait on it."""
        if revision > self.proxy_revision:
            self.proxy_revision = revision
            self._kick.set()

    def renew_lease(self) -> None:
        def attempt() -> None:
            lease = self._lease
            if lease is None:
                try:
                    lease = self.client.get("Lease", self.node, namespace=LEASE_NAMESPACE)
                except errors.NotFound:
                    self._lease = self.client.create(lease_object(self.node,
                                                                  self.lease_duration))
                    return
            lease = json_copy(lease)
            lease.setdefault("spec", {}).update(holderIdentity=self.node,
                                                leaseDurationSeconds=self.lease_duration,
                                                renewTime=now_rfc3339(micro=True))
            revision = self.proxy_revision
            annotations = lease.setdefault("metadata", {}).setdefault("annotations", {})
            if revision:
                annotations[PROXY_REVISION_ANNOTATION] = str(revision)
            report = self.usage_report()
            if report:
                annotations[USAGE_ANNOTATION] = report
            try:
                self._lease = self.client.update(lease)
            except (errors.Conflict, errors.NotFound):
                self._lease = None  # changed or deleted by someone else: read it again
                raise
            self._published = revision
        retry_on_conflict(attempt)

    def post_status(self) -> None:
        """Write the Node's Ready condition and usage if the condition changed
        (the node lifecycle controller may have set it Unknown) or the last write
        is ``report_period`` old."""
        first = [True]

        def attempt() -> None:
            stale_ok = first.pop() if first else False  # after a Conflict: the latest
            try:
                node = self.client.get("Node", self.node, namespace=None,
                                       resource_version="0" if stale_ok else None)
            except errors.NotFound:
                if self.reregister is None:
                    raise
                log.warning("node %s was deleted from the API: registering it again", self.node)
                self.reregister()
                self._reported_at = None
                node = self.client.get("Node", self.node, namespace=None)
            status = node.setdefault("status", {})
            conds = status.get("conditions") or []
            previous = next((c for c in conds if c.get("type") == "Ready"), None)
            problem = self.problem()
            ready = ready_condition(problem is None, problem or "agent is posting ready status",
                                    previous)
            due = self._reported_at is None or \
                self.clock() - self._reported_at >= self.report_period
            if not due and previous is not None and all(
                    previous.get(f) == ready[f] for f in ("status", "reason", "message")):
                return
            status["conditions"] = [c for c in conds if c.get("type") != "Ready"] + [ready]
            status["usage"] = self.usage()
            stored = self.client.update_status(node)
            first_report = self._reported_at is None
            self._reported_at = self.clock()
            if first_report or previous is None or previous.get("status") != ready["status"]:
                self.on_ready_change(stored or node, ready["status"] == "True")
        retry_on_conflict(attempt)

    def beat(self) -> None:
        self.renew_lease()
        self.post_status()
        self.beats += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.beat()
                if self._failing:
                    log.info("heartbeat: masters reachable again")
                self._failing = False
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                if not self._failing:
                    log.warning("heartbeat failed (pods keep running): %s", e)
                self._failing = True
            except Exception:  # noqa: BLE001 - the heartbeat thread must not die
                log.exception("heartbeat failed")
            stop.wait(self.period)

    def run_publisher(self, stop: threading.Event) -> None:
        """Renew the Lease early whenever the proxy applied a newer revision."""
        while not stop.is_set():
            if not self._kick.wait(1.0):
                continue
            self._kick.clear()
            if self.proxy_revision <= self._published:
                continue
            try:  # a Conflict: the periodic beat renewed it meanwhile
                retry_on_conflict(self.renew_lease)
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                log.debug("publishing the proxy revision failed: %s", e)
            except Exception:  # noqa: BLE001 - this thread must not die
                log.exception("publishing the proxy revision failed")
            stop.wait(0.05)  # coalesce a burst of syncs into few writes
