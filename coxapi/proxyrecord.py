"""What the cluster's proxies have applied, in one small record.

Each node's netproxy publishes, on its node's Lease, the Endpoints revision
its kernel rules reflect (``PROXY_REVISION_ANNOTATION``); a terminating pod's
drain (node/drain.py) waits until every live proxy has applied a state
without the pod. Reading that from every node's Lease is O(nodes) per stopped
pod, and each Lease carries its node's usage report: with 100 nodes, a list of
~116 KiB for every pod a rollout replaces. So the leader keeps the lowest
revision the live proxies have applied, and how many are live, in one Lease
(``RECORD_NAMESPACE/RECORD_NAME``, master/controllers/proxyrecord.py), and a
drain reads that instead (a few hundred bytes), falling back to the Leases
while the record is missing or behind (no leader, or an older one).

The record is a true statement about a moment: every proxy live then had
applied at least ``lowest``. Applied revisions only grow, so it stays true for
those proxies; one that starts later lists the Endpoints as they are then.
Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .timefmt import parse_epoch

Obj = dict[str, Any]

PROXY_REVISION_ANNOTATION = "proxy.coxswain.io/endpoints-revision"
LIVE_ANNOTATION = "proxy.coxswain.io/live-proxies"
LOWEST_ANNOTATION = "proxy.coxswain.io/lowest-applied-revision"
# kube-system, beside the control plane's other Leases: kube-node-lease holds
# one Lease per node, named after it, and any name there could be a node's
RECORD_NAMESPACE = "kube-system"
RECORD_NAME = "coxswain-proxies"
# a proxy whose node renewed its Lease within this many seconds is live (the
# node Lease's own duration: an agent that stopped renewing is gone)
LIVE_WITHIN = 40.0


def applied_revision(lease: Obj, now: float, live_within: float) -> int | None:
    """The revision this node's proxy has applied, or None when the node runs
    no proxy (no annotation) or is dead (Lease not renewed within ``live_within``)."""
    meta = lease.get("metadata") or {}
    published = (meta.get("annotations") or {}).get(PROXY_REVISION_ANNOTATION)
    if published is None:
        return None
    renewed = parse_epoch((lease.get("spec") or {}).get("renewTime"))
    if renewed is None or now - renewed > live_within:
        return None
    try:
        return int(published)
    except ValueError:
        return None


@dataclass(frozen=True)
class Applied:
    live: int  # proxies live
    lowest: int  # the lowest revision one of them has applied (0 when none is live)

    def reached(self, revision: int) -> bool:
        """Every live proxy has applied ``revision`` (true when none is live)."""
        return self.live == 0 or self.lowest >= revision


def gather(leases: Iterable[Obj], now: float, live_within: float = LIVE_WITHIN) -> Applied:
    revisions = [r for lease in leases
                 if (r := applied_revision(lease, now, live_within)) is not None]
    return Applied(len(revisions), min(revisions, default=0))


def record(applied: Applied) -> Obj:
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": RECORD_NAME, "namespace": RECORD_NAMESPACE,
                         "annotations": {LIVE_ANNOTATION: str(applied.live),
                                         LOWEST_ANNOTATION: str(applied.lowest)}},
            "spec": {"holderIdentity": "node-proxies"}}


def recorded(lease: Obj | None) -> Applied | None:
    """What the record says; None when it is missing or unreadable."""
    annotations = ((lease or {}).get("metadata") or {}).get("annotations") or {}
    try:
        live = int(annotations[LIVE_ANNOTATION])
        lowest = int(annotations[LOWEST_ANNOTATION])
    except (KeyError, TypeError, ValueError):
        return None
    return Applied(live, lowest) if live >= 0 else None
