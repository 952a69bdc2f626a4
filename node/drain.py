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
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from coxapi import errors
from coxapi.meta import is_version
from coxapi.timefmt import parse_epoch

log = logging.getLogger(__name__)
Obj = dict[str, Any]

PROXY_REVISION_ANNOTATION = "proxy.coxswain.io/endpoints-revision"
LEASE_NAMESPACE = "kube-node-lease"


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
        meta = lease.get("metadata") or {}
        published = (meta.get("annotations") or {}).get(PROXY_REVISION_ANNOTATION)
        if published is None:
            continue
        renewed = parse_epoch((lease.get("spec") or {}).get("renewTime"))
        if renewed is None or now - renewed > live_within:
            continue
        try:
            if int(published) < revision:
                lagging.append(meta.get("name", "?"))
        except ValueError:
            continue
    return lagging


def newest_version(*objs: Obj | None) -> str | None:
    """The highest resourceVersion of these versions of one object."""
    versions = [int(v) for o in objs if o is not None
                for v in [(o.get("metadata") or {}).get("resourceVersion")]
                if is_version(v)]
    return str(max(versions)) if versions else None


class EndpointDrain:
    """Waits for a pod's endpoint to be gone from every proxy (the I/O side)."""

    def __init__(self, client: Any, timeout: float = 10.0, poll: float = 0.1,
                 live_within: float = 40.0, clock: Callable[[], float] = time.time,
                 stop: threading.Event | None = None) -> None:
        self.client = client
        self.timeout = timeout
        self.poll = poll
        self.live_within = live_within
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
        while True:
            try:
                endpoints = self.client.list("Endpoints", namespace, resource_version=at)
                revision = endpoints_revision_without(pod_ip, endpoints.get("items") or [])
                if revision == 0:  # no Endpoints in the namespace: no proxy to wait for
                    log.info("pod %s drained: no Endpoints in its namespace", name)
                    return True
                if revision is not None:
                    leases = self.client.list("Lease", LEASE_NAMESPACE,
                                              resource_version=at).get("items") or []
                    lagging = lagging_proxies(leases, revision, self.clock(), self.live_within)
                    if not lagging:
                        log.info("pod %s drained from every proxy in %.2fs", name,
                                 time.monotonic() - start)
                        return True
                    waiting_for = "the proxies of " + ", ".join(sorted(lagging))
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                waiting_for = f"the API ({e})"
            if time.monotonic() >= deadline or self.stop.wait(self.poll):
                log.warning("pod %s: stopping without a full drain after %.1fs, still waiting "
                            "for %s", name, time.monotonic() - start, waiting_for)
                return False
