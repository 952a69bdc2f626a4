"""Limits on requests in flight, as Kubernetes' ``--max-requests-inflight``.

A request/response call holds a slot from the moment its headers are in
until its answer is sent (reading its body included), counted in total and
per client (the authenticated user): beyond either limit it is answered 429
with ``Retry-After`` at once, so no client can queue up the whole server.
Long-running requests (watches, followed logs) are not counted, as in
Kubernetes; they cost no thread.

Node heartbeats (a node's own Lease in ``kube-node-lease``, its own Node and
Node status) have a budget of their own, and their own worker threads, so a
node stays Ready while the general budget is exhausted; the health paths are
answered on the event loop before any limit.

Pure bookkeeping: the event loop's one thread calls it, so there is no lock.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from coxapi import errors

from .api import authz, paths
from .auth import User

HEARTBEAT_METHODS = frozenset({"GET", "PUT", "PATCH", "POST"})
RETRY_AFTER_SECONDS = 1  # Kubernetes' answer beyond max-requests-inflight


@dataclass
class Budget:
    """Slots for ``total`` requests at once, ``per_client`` of them for any one client."""

    total: int
    per_client: int

    def __post_init__(self) -> None:
        self.in_flight = 0
        self._by_client: Counter[str] = Counter()

    def try_acquire(self, client: str) -> bool:
        if self.in_flight >= self.total or self._by_client[client] >= self.per_client:
            return False
        self.in_flight += 1
        self._by_client[client] += 1
        return True

    def release(self, client: str) -> None:
        self.in_flight -= 1
        self._by_client[client] -= 1
        if not self._by_client[client]:
            del self._by_client[client]


def is_heartbeat(user: User, method: str, target: paths.Target | None) -> bool:
    """A node reading or writing its own Lease or Node (status included)."""
    node = authz.node_name(user)
    if node is None or target is None or method not in HEARTBEAT_METHODS:
        return False
    return target.kind.strategy.is_heartbeat(node, method, target.namespace, target.name,
                                             target.subresource)


def too_many(who: str) -> errors.TooManyRequests:
    return errors.TooManyRequests.retry_after(
        f"Too many requests in flight ({who}), please try again later.", RETRY_AFTER_SECONDS)
