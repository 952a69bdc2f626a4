"""Service addresses: a ClusterIP from the service CIDR for every Service
(unless headless, ``clusterIP: None``) and a NodePort from the node-port
range for each port of a ``NodePort``/``LoadBalancer`` Service.

The API server leaves ``spec.clusterIP`` empty on create unless the user
set it; this controller fills it in. A user-chosen IP or port is honoured
when free, else the Service gets a Warning event and keeps no address.
Claims live in the store (allocator.py), so concurrent creates can never
be given the same IP or port; they are released when the Service goes.
"""

from __future__ import annotations

import logging
from typing import Any

from .allocator import Allocator, in_ip_range, ip_candidates, owner_of, port_candidates
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
_REPAIR_AFTER = 120.0  # claims older than this whose Service is gone are leaks


class ServiceIpController(Controller):
    name = "service-ip-controller"
    period = 60.0

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        gen, size = ip_candidates(self.config.service_cidr)
        self.ips = Allocator(self.objects.store, "serviceips", gen, size, clock=self.config.clock)
        lo, hi = self.config.node_port_range
        pgen, psize = port_candidates(lo, hi)
        self.ports = Allocator(self.objects.store, "nodeports", pgen, psize,
                               clock=self.config.clock)
        self.services = ctx.informers["Service"]
        self.services.add_handler(self.enqueue, lambda old, new: self.enqueue(new),
                                  self._deleted)

    def _deleted(self, svc: Obj) -> None:
        self.queue.add(f"deleted:{svc['metadata'].get('uid', '')}")

    def periodic(self) -> None:
        """Repair: free claims whose Service no longer exists."""
        live = {s["metadata"].get("uid") for s in self.services.list()}
        now = self.config.clock()
        for alloc in (self.ips, self.ports):
            for value, claim in alloc.claims().items():
                uid = (claim.get("owner") or {}).get("uid")
                if uid not in live and now - float(claim.get("claimedAt") or 0) > _REPAIR_AFTER:
                    alloc.release(value, uid)

    def reconcile(self, key: str) -> float | None:
        if key.startswith("deleted:"):
            uid = key.split(":", 1)[1]
            for alloc in (self.ips, self.ports):
                for value in alloc.held_by(uid):
                    alloc.release(value, uid)
            return None
        svc = self.services.get(key)
        if svc is None:
            return None
        owner = owner_of(svc)
        uid = owner["uid"]
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP") or ""
        new_ip = None
        if ip == "":
            new_ip = self.ips.allocate(owner)
            if new_ip is None:
                self.events.warning(svc, "ClusterIPNotAllocated",
                                    f"no free address left in {self.config.service_cidr}")
        elif ip != "None" and not self._claim_user_ip(svc, ip, owner):
            new_ip = None
        ports_wanted, new_ports = self._node_ports(svc, owner)
        # ports of this Service no longer in its spec are freed
        for value in self.ports.held_by(uid):
            if value not in ports_wanted:
                self.ports.release(value, uid)
        if new_ip is None and not new_ports:
            return None
        lost: list[str] = []

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                raise _Gone
            cspec = cur.setdefault("spec", {})
            changed = False
            if new_ip is not None:
                if cspec.get("clusterIP"):
                    lost.append(new_ip)
                else:
                    cspec["clusterIP"] = new_ip
                    cspec["clusterIPs"] = [new_ip]
                    changed = True
            for i, port in enumerate(cspec.get("ports") or []):
                if i in new_ports and not port.get("nodePort"):
                    port["nodePort"] = int(new_ports[i])
                    changed = True
            return cur if changed else None
        try:
            self.objects.guaranteed_update("Service", svc["metadata"].get("namespace"),
                                           svc["metadata"]["name"], write)
        except _Gone:
            self.reconcile(f"deleted:{uid}")
            return None
        for value in lost:
            self.ips.release(value, uid)
        if new_ip is not None and not lost:
            self.events.normal(svc, "ClusterIPAllocated", f"Allocated cluster IP {new_ip}")
        return None

    def _claim_user_ip(self, svc: Obj, ip: str, owner: Obj) -> bool:
        if not in_ip_range(ip, self.config.service_cidr):
            self.events.warning(svc, "ClusterIPOutOfRange",
                                f"clusterIP {ip} is not in the service CIDR "
                                f"{self.config.service_cidr}")
            return False
        if not self.ips.claim(ip, owner):
            self.events.warning(svc, "ClusterIPAlreadyAllocated",
                                f"clusterIP {ip} is already allocated to another Service")
            return False
        return True

    def _node_ports(self, svc: Obj, owner: Obj) -> tuple[set[str], dict[int, str]]:
        """Claim the node ports the Service needs: ``(all its ports, the
        newly allocated ones by port index)``."""
        spec = svc.get("spec") or {}
        wanted: set[str] = set()
        new: dict[int, str] = {}
        if spec.get("type") not in NODE_PORT_TYPES:
            return wanted, new
        lo, hi = self.config.node_port_range
        ports = spec.get("ports") or []
        chosen = {str(p["nodePort"]) for p in ports if p.get("nodePort")}
        for port in ports:
            value = port.get("nodePort")
            if not value:
                continue
            if not lo <= int(value) <= hi:
                self.events.warning(svc, "NodePortOutOfRange",
                                    f"nodePort {value} is not in the range {lo}-{hi}")
            elif self.ports.claim(str(value), owner):
                wanted.add(str(value))
            else:
                self.events.warning(svc, "NodePortAlreadyAllocated",
                                    f"nodePort {value} is already allocated")
        for i, port in enumerate(ports):
            if port.get("nodePort"):
                continue
            value = self.ports.allocate(owner, exclude=chosen | wanted)
            if value is None:
                self.events.warning(svc, "NodePortNotAllocated",
                                    f"no free node port left in {lo}-{hi}")
                continue
            wanted.add(value)
            new[i] = value
        return wanted, new


class _Gone(Exception):
    pass

