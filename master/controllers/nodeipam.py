"""Node IPAM: give each Node a pod CIDR (a ``/node_cidr_mask`` of the
cluster CIDR), unique through store-backed claims, freed when the Node is
deleted. The agent waits for ``spec.podCIDR`` before it runs pods."""

from __future__ import annotations

import logging
from typing import Any

from coxapi.meta import key_of

from .allocator import Allocator, owner_of, subnet_candidates
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_REPAIR_AFTER = 60.0  # claims older than this whose Node is gone are leaks


class NodeIpamController(Controller):
    name = "node-ipam-controller"
    period = 60.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        gen, size = subnet_candidates(self.config.cluster_cidr, self.config.node_cidr_mask)
        self.cidrs = Allocator(self.objects.store, "podcidrs", gen, size, clock=self.config.clock)
        self.nodes = ctx.informers["Node"]
        self.nodes.add_handler(self.enqueue, lambda old, new: self.enqueue(new),
                               self._node_deleted)

    def _node_deleted(self, node: Obj) -> None:
        self.queue.add(f"deleted:{key_of(node)}:{node['metadata'].get('uid', '')}")

    def periodic(self) -> None:
        """Free claims of nodes that no longer exist (missed deletes)."""
        self.cidrs.release_orphans({n["metadata"].get("uid") for n in self.nodes.list()},
                                   older_than=_REPAIR_AFTER)

    def reconcile(self, key: str) -> float | None:
        if key.startswith("deleted:"):
            _, _, uid = key.split(":", 2)
            self.cidrs.release_all(uid)
            return None
        node = self.nodes.get(key)
        if node is None:
            return None
        spec = node.get("spec") or {}
        owner = owner_of(node)
        if spec.get("podCIDR"):
            # keep the claim in step with what the node says (e.g. after restore)
            if not self.cidrs.claim(spec["podCIDR"], owner):
                self.events.warning(node, "CIDRNotAvailable",
                                    f"pod CIDR {spec['podCIDR']} of node {key} is also "
                                    "assigned to another node")
            return None
        cidr = self.cidrs.allocate(owner)
        if cidr is None:
            self.events.warning(node, "CIDRNotAvailable",
                                f"Node {key} status is now: CIDRNotAvailable "
                                f"(no free /{self.config.node_cidr_mask} in "
                                f"{self.config.cluster_cidr})")
            return 30.0
        uid = owner["uid"]
        outcome = "written"

        def write(cur: Obj) -> Obj | None:
            nonlocal outcome
            has = (cur.get("spec") or {}).get("podCIDR")
            if cur["metadata"].get("uid") != uid or has:
                # Lost: the node is gone, or was given another. Given this one, the sync
                # read a cached copy older than our own write (``allocate`` found the claim
                # it holds): it is in use, and releasing it would hand it to another node.
                outcome = "kept" if cur["metadata"].get("uid") == uid and has == cidr \
                    else "lost"
                return None
            cur.setdefault("spec", {})["podCIDR"] = cidr
            cur["spec"]["podCIDRs"] = [cidr]
            return cur
        # A failed write keeps the claim: the node may hold the CIDR already (an earlier
        # sync's write), and the retry's ``allocate`` hands this owner its claim again.
        self.objects.guaranteed_update("Node", None, key, write)
        if outcome == "lost":
            self.cidrs.release(cidr, uid)
        elif outcome == "written":
            self.events.normal(node, "CIDRAssignmentSucceeded", f"Assigned pod CIDR {cidr}")
        return None
