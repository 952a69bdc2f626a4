"""Node lifecycle: notice dead nodes, fence them off, move their pods.

Liveness is judged on this leader's own monotonic clock: a node is alive
when its Lease's ``renewTime`` (or its Ready condition's heartbeat) *changed*
within ``node_grace_period``, as seen by this process. Wall-clock times
written by other machines are never compared with ours, and a node first
seen by this leader (every node, right after a failover) gets a full grace
period from that moment — so a new leader never evicts healthy nodes whose
renewals it simply has not watched yet.

A node silent for the grace period gets Ready=Unknown (NodeStatusUnknown)
and the ``node.kubernetes.io/unreachable`` taints (NoSchedule, NoExecute);
``eviction_timeout`` later its pods are deleted at once (grace 0: the node
cannot stop them) so their controllers recreate them elsewhere. Pods that
tolerate the NoExecute taint stay for their ``tolerationSeconds`` (forever
without one). When renewals resume the taints are removed; the agent sets
Ready=True itself.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass
from typing import Any

from coxapi import timefmt
from coxapi.meta import get_condition, is_terminating, key_of

from ..scheduler.filters import toleration_matches
from . import parallel
from . import pods as podutil
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
UNREACHABLE = "node.kubernetes.io/unreachable"
LEASE_NAMESPACE = "kube-node-lease"


@dataclass
class _Seen:
    signal: tuple  # (lease renewTime, Ready heartbeat) last observed
    at: float  # our monotonic time when it last changed


def node_pods_index(pod: Obj) -> list[str]:
    name = (pod.get("spec") or {}).get("nodeName")
    return [name] if name else []


def unreachable_taints(node: Obj) -> list[Obj]:
    return [t for t in (node.get("spec") or {}).get("taints") or []
            if t.get("key") == UNREACHABLE]


def eviction_delay(pod: Obj, default: float) -> float | None:
    """Seconds after the NoExecute taint that ``pod`` must go; None = never."""
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    tols = [t for t in (pod.get("spec") or {}).get("tolerations") or []
            if toleration_matches(t, taint)]
    if not tols:
        return default
    secs = [t.get("tolerationSeconds") for t in tols]
    if any(s is None for s in secs):
        return None
    return max(0.0, float(min(secs)))


class NodeLifecycleController(Controller):
    name = "node-lifecycle-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.period = self.config.node_monitor_period
        self._lock = threading.Lock()
        self._seen: dict[str, _Seen] = {}
        self._tainted_at: dict[str, float] = {}  # monotonic time we saw/put the NoExecute taint
        self.nodes = ctx.informers["Node"]
        self.leases = ctx.informers["Lease"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index("nodeName", node_pods_index)
        self.nodes.add_handler(self._node_seen, lambda old, new: self._node_seen(new),
                               self._node_gone)
        self.leases.add_handler(self._lease_seen, lambda old, new: self._lease_seen(new), None)

    # ---- observations -----------------------------------------------------------

    def _signal(self, name: str) -> tuple:
        lease = self.leases.get_by(LEASE_NAMESPACE, name)
        node = self.nodes.get(name)
        renew = ((lease or {}).get("spec") or {}).get("renewTime")
        ready = get_condition(node, "Ready") if node else None
        return (renew, (ready or {}).get("lastHeartbeatTime"))

    def observe(self, name: str) -> None:
        sig = self._signal(name)
        now = self.config.monotonic()
        with self._lock:
            seen = self._seen.get(name)
            if seen is None or seen.signal != sig:
                self._seen[name] = _Seen(sig, now)

    def _node_seen(self, node: Obj) -> None:
        self.observe(key_of(node))
        self.enqueue(node)

    def _node_gone(self, node: Obj) -> None:
        with self._lock:
            self._seen.pop(key_of(node), None)
            self._tainted_at.pop(key_of(node), None)

    def _lease_seen(self, lease: Obj) -> None:
        if lease["metadata"].get("namespace") != LEASE_NAMESPACE:
            return
        name = lease["metadata"]["name"]
        if self.nodes.get(name) is not None:
            self.observe(name)
            self.queue.add(name)

    def periodic(self) -> None:
        for key in self.nodes.list_keys():
            self.queue.add(key)

    # ---- reconcile ------------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        node = self.nodes.get(key)
        if node is None:
            return None
        self.observe(key)
        now = self.config.monotonic()
        with self._lock:
            silent = now - self._seen[key].at
        grace = self.config.node_grace_period
        if silent <= grace:
            with self._lock:
                self._tainted_at.pop(key, None)
            if unreachable_taints(node):
                self._untaint(node)
            return grace - silent + 0.01
        self._mark_unreachable(node)
        with self._lock:
            # the eviction clock starts when *we* taint (or first find the taint)
            tainted = self._tainted_at.setdefault(key, now)
        return self._evict(node, now - tainted)

    def _mark_unreachable(self, node: Obj) -> None:
        ready = get_condition(node, "Ready")
        has = {(t.get("key"), t.get("effect")) for t in unreachable_taints(node)}
        if ready and ready.get("status") == "Unknown" and \
                has == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}:
            return
        stamp = timefmt.rfc3339(self.config.clock())

        def write(cur: Obj) -> Obj | None:
            spec = cur.setdefault("spec", {})
            taints = spec.get("taints") or []
            have = {t.get("effect") for t in taints if t.get("key") == UNREACHABLE}
            for effect in ("NoSchedule", "NoExecute"):
                if effect not in have:
                    taints.append({"key": UNREACHABLE, "effect": effect, "timeAdded": stamp})
            spec["taints"] = taints
            conds = cur.setdefault("status", {}).setdefault("conditions", [])
            c = next((c for c in conds if c.get("type") == "Ready"), None)
            if c is None:
                c = {"type": "Ready"}
                conds.append(c)
            if c.get("status") != "Unknown":
                c.update(status="Unknown", reason="NodeStatusUnknown",
                         message="Kubelet stopped posting node status.",
                         lastTransitionTime=stamp)
            return cur
        self.objects.guaranteed_update("Node", None, key_of(node), write)
        if not ready or ready.get("status") != "Unknown":
            self.events.normal(node, "NodeNotReady",
                               f"Node {key_of(node)} status is now: NodeNotReady")

    def _untaint(self, node: Obj) -> None:
        def write(cur: Obj) -> Obj | None:
            spec = cur.setdefault("spec", {})
            keep = [t for t in spec.get("taints") or [] if t.get("key") != UNREACHABLE]
            if len(keep) == len(spec.get("taints") or []):
                return None
            spec["taints"] = keep
            return cur
        self.objects.guaranteed_update("Node", None, key_of(node), write)
        self.events.normal(node, "NodeReachable",
                           f"Node {key_of(node)} is renewing its lease again; "
                           f"removed the {UNREACHABLE} taints")

    def _evict(self, node: Obj, since_taint: float) -> float | None:
        """Delete the pods whose time is up (in parallel); return when the next one's is."""
        nxt: float | None = None
        due: list[Obj] = []
        for pod in self.pods.by_index("nodeName", key_of(node)):
            if is_terminating(pod) and int(pod["metadata"].get(
                    "deletionGracePeriodSeconds") or 0) == 0:
                continue
            delay = eviction_delay(pod, self.config.eviction_timeout)
            if delay is None:
                continue
            left = delay - since_taint
            if left > 0:
                nxt = left if nxt is None else min(nxt, left)
                continue
            due.append(pod)
        for failed in parallel.each(lambda pod: self._evict_pod(node, pod), due):
            if failed is not None:
                raise failed
        return (nxt + 0.01) if nxt is not None else self.period or None

    def _evict_pod(self, node: Obj, pod: Obj) -> None:
        podutil.delete_pod(self.objects, copy.deepcopy(pod), self.config.clock(), grace=0)
        self.events.normal(pod, "TaintManagerEviction",
                           f"Marking for deletion Pod {key_of(pod)}: node {key_of(node)} "
                           "is unreachable")
