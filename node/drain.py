"""Endpoint drain: before a terminating pod gets SIGTERM, wait until no
proxy in the cluster can still send it a new connection.

Marking the pod not ready makes the Endpoints controller drop it, but every
node's netproxy learns that through its own watch, a moment later; a pod
stopped in between refuses connections the proxies still send it (the
"stale endpoints during rollouts" complaint of Kubernetes and Swarm users).
So each netproxy publishes, on its node's Lease, the Endpoints revision its
kernel rules reflect, and the agent waits until (1) no Endpoints object of
the pod's namespace (a Service selects pods of its own) lists the pod as
ready and (2) every live proxy has applied at least the revision of that
state. The wait is bounded, so a dead proxy or a lost API only delays the
stop, never blocks it.

Both lists ask for a state not older than the pod's own latest version (its
not-ready status write): a master's watch cache answers them from memory,
with no Raft read. Any consistent state from then on will do: a proxy that
has applied the revision of a state without the pod has applied every
Endpoints change up to it.

So once a state without the pod is found, its revision is what the wait is
for, and the Endpoints are not listed again. Then the leader's record of what
the live proxies have applied (coxapi/proxyrecord.py, one small Lease) is read
for up to ``RECORD_PATIENCE``, rather than every node's Lease (usage reports
included: O(nodes) per stopped pod). Without a record that shows the revision
by then (no leader, or an older one), the Leases are read: once listed,
only the proxies that were behind are looked at again (their own Leases
read, or all listed again while more than ``RELIST_ABOVE`` are behind). A
proxy's applied revision only grows, and a read of a Lease older than the
one seen before is not taken for news; so polling a few stragglers costs a
few small reads, not a list of every node's Lease (usage report included)
every ``poll``, per terminating pod.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from coxapi import errors, proxyrecord
from coxapi.meta import is_version
from coxapi.proxyrecord import PROXY_REVISION_ANNOTATION as PROXY_REVISION_ANNOTATION
from coxapi.proxyrecord import applied_revision

log = logging.getLogger(__name__)
Obj = dict[str, Any]

LEASE_NAMESPACE = "kube-node-lease"
RELIST_ABOVE = 4  # more proxies behind than this: one list of the Leases, not a read each
# seconds the leader's record has to show the revision before the Leases are
# read: it follows the proxies' Lease writes within a sync (~0.1 s) and a commit
RECORD_PATIENCE = 2.0


def endpoints_revision_without(pod_ip: str, endpoints: Iterable[Obj]) -> int | None:
    """The revision the proxies must reach, or None while some Endpoints
    object still lists ``pod_ip`` among its ready addresses."""
    revision = 0
    for ep in endpoints:
        for subset in ep.get("subsets") or []:
            if any(a.get("ip") == pod_ip for a in subset.get("addresses") or []):
                return None
        try:
            revision = max(revision, int(ep["metadata"].get("resourceVersion") or 0))
        except (KeyError, ValueError):
            continue
    return revision


def lagging_proxies(leases: Iterable[Obj], revision: int, now: float,
                    live_within: float) -> list[str]:
    """Nodes whose proxy is alive (Lease renewed within ``live_within`` s) and
    has published an applied revision below ``revision``. A node without the
    annotation runs no proxy; a node with a stale Lease is dead and waits for
    no one."""
    lagging = []
    for lease in leases:
        applied = applied_revision(lease, now, live_within)
        if applied is not None and applied < revision:
            lagging.append((lease.get("metadata") or {}).get("name", "?"))
    return lagging


def still_lagging(behind: dict[str, int], leases: Iterable[Obj], revision: int, now: float,
                  live_within: float) -> dict[str, int]:
    """The proxies of ``behind`` (node name -> the version of its Lease last
    seen) still behind ``revision`` after these newer reads of their Leases. A
    read older than the version seen before (another master's cache, further
    behind) tells nothing; a proxy whose Lease was not read stays behind."""
    out = dict(behind)
    for lease in leases:
        meta = lease.get("metadata") or {}
        name = meta.get("name", "?")
        version = _version(lease)
        if name not in behind or version < behind[name]:
            continue
        if lagging_proxies([lease], revision, now, live_within):
            out[name] = version
        else:
            del out[name]
    return out


def _version(obj: Obj) -> int:
    v = (obj.get("metadata") or {}).get("resourceVersion")
    return int(v) if is_version(v) else 0


def newest_version(*objs: Obj | None) -> str | None:
    """The highest resourceVersion of these versions of one object."""
    versions = [int(v) for o in objs if o is not None
                for v in [(o.get("metadata") or {}).get("resourceVersion")]
                if is_version(v)]
    return str(max(versions)) if versions else None


class EndpointDrain:
    """Waits for a pod's endpoint to be gone from every proxy (the I/O side)."""

    def __init__(self, client: Any, timeout: float = 10.0, poll: float = 0.1,
                 live_within: float = proxyrecord.LIVE_WITHIN,
                 clock: Callable[[], float] = time.time,
                 stop: threading.Event | None = None,
                 record_patience: float = RECORD_PATIENCE) -> None:
        self.client = client
        self.timeout = timeout
        self.poll = poll
        self.live_within = live_within
        self.record_patience = record_patience
        self.clock = clock
        self.stop = stop or threading.Event()

    def wait(self, pod: Obj, budget: float, at: str | None = None) -> bool:
        """Block until drained or ``min(timeout, budget)`` passed; True if drained.
        ``at``: the pod's latest resourceVersion, if newer than ``pod``'s."""
        pod_ip = (pod.get("status") or {}).get("podIP")
        if not pod_ip:
            return True
        namespace = pod["metadata"].get("namespace")
        at = at or pod["metadata"].get("resourceVersion") or None
        name = f"{pod['metadata'].get('namespace')}/{pod['metadata'].get('name')}"
        start = time.monotonic()
        deadline = start + max(0.0, min(self.timeout, budget))
        waiting_for = "the Endpoints controller"
        revision: int | None = None  # of a state without the pod, once one is seen
        record_until = start + self.record_patience  # then the Leases themselves are read
        behind: dict[str, int] | None = None  # proxies behind it, once the Leases are listed
        while True:
            try:
                if revision is None:
                    endpoints = self.client.list("Endpoints", namespace, resource_version=at)
                    revision = endpoints_revision_without(pod_ip, endpoints.get("items") or [])
                    if revision == 0:  # no Endpoints in the namespace: no proxy to wait for
                        log.info("pod %s drained: no Endpoints in its namespace", name)
                        return True
                if revision is not None and time.monotonic() < record_until:
                    applied = self._recorded(at)
                    if applied is None:  # no leader keeps one (yet): read the Leases
                        record_until = start
                    elif applied.reached(revision):
                        log.info("pod %s drained from every proxy in %.2fs, as the leader "
                                 "records them", name, time.monotonic() - start)
                        return True
                    else:
                        waiting_for = (f"the proxies: the lowest revision applied is "
                                       f"{applied.lowest}, not yet {revision}")
                if revision is not None and time.monotonic() >= record_until:
                    behind = self._behind(behind, revision, at)
                    if not behind:
                        log.info("pod %s drained from every proxy in %.2fs", name,
                                 time.monotonic() - start)
                        return True
                    waiting_for = "the proxies of " + ", ".join(sorted(behind))
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                waiting_for = f"the API ({e})"
            if time.monotonic() >= deadline or self.stop.wait(self.poll):
                log.warning("pod %s: stopping without a full drain after %.1fs, still waiting "
                            "for %s", name, time.monotonic() - start, waiting_for)
                return False

    def _recorded(self, at: str | None) -> proxyrecord.Applied | None:
        """The leader's record of what the live proxies have applied, from a
        state not older than ``at`` (a watch cache answers from memory)."""
        try:
            lease = self.client.get("Lease", proxyrecord.RECORD_NAME,
                                    proxyrecord.RECORD_NAMESPACE, resource_version=at)
        except (errors.NotFound, errors.Forbidden):  # none kept, or not this node's to read
            return None
        return proxyrecord.recorded(lease)

    def _behind(self, behind: dict[str, int] | None, revision: int,
                at: str | None) -> dict[str, int]:
        """The live proxies behind ``revision``: from a list of every Lease the
        first time and while many are behind, then from their own Leases."""
        now = self.clock()
        if behind is None or len(behind) > RELIST_ABOVE:
            leases = self.client.list("Lease", LEASE_NAMESPACE,
                                      resource_version=at).get("items") or []
            if behind is not None:
                return still_lagging(behind, leases, revision, now, self.live_within)
            by_name = {(lease.get("metadata") or {}).get("name"): lease for lease in leases}
            return {n: _version(by_name.get(n) or {})
                    for n in lagging_proxies(leases, revision, now, self.live_within)}
        # any replica's copy will do (resourceVersion=0: no Raft read): an older
        # one than seen before is not taken for news
        leases = []
        for node in behind:
            try:
                leases.append(self.client.get("Lease", node, LEASE_NAMESPACE,
                                              resource_version="0"))
            except errors.NotFound:
                continue  # stays behind: the budget bounds the wait for a deleted node
        return still_lagging(behind, leases, revision, now, self.live_within)
