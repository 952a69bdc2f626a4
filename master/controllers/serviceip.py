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

from coxapi import errors

from .allocator import Allocator, in_ip_range, ip_candidates, owner_of, port_candidates
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODE_PORT_TYPES = ("NodePort", "LoadBalancer")
_REPAIR_AFTER = 120.0  # claims older than this whose Service is gone are leaks
_SETTLED = 10.0  # a claim older than this is not part of a write in progress


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
        for alloc in (self.ips, self.ports):
            alloc.release_orphans(live, older_than=_REPAIR_AFTER)

    def reconcile(self, key: str) -> float | None:
        if key.startswith("deleted:"):
            uid = key.split(":", 1)[1]
            for alloc in (self.ips, self.ports):
                alloc.release_all(uid)
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
        _, new_ports = self._node_ports(svc, owner)
        if new_ip is not None or new_ports:
            cur = self._write(svc, new_ip, new_ports)
            if cur is None:
                return None
        else:
            cur = svc
        self._release_unused(cur)
        if new_ip is not None and (cur.get("spec") or {}).get("clusterIP") == new_ip:
            self.events.normal(svc, "ClusterIPAllocated", f"Allocated cluster IP {new_ip}")
        return None

    def _write(self, svc: Obj, new_ip: str | None, new_ports: dict[int, str]) -> Obj | None:
        """Record the new addresses in the Service (only where still empty);
        returns the stored Service, None if it is gone."""
        uid = svc["metadata"].get("uid")

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                raise _Gone
            cspec = cur.setdefault("spec", {})
            changed = False
            if new_ip is not None and not cspec.get("clusterIP"):
                cspec["clusterIP"] = new_ip
                cspec["clusterIPs"] = [new_ip]
                changed = True
            for i, port in enumerate(cspec.get("ports") or []):
                if i in new_ports and not port.get("nodePort"):
                    port["nodePort"] = int(new_ports[i])
                    changed = True
            return cur if changed else None
        try:
            cur = self.objects.guaranteed_update("Service", svc["metadata"].get("namespace"),
                                                 svc["metadata"]["name"], write)
        except (_Gone, errors.NotFound):
            self.reconcile(f"deleted:{uid}")
            return None
        # Someone else filled a field first: what we claimed for it is unused.
        stored_ip, stored_ports = _in_use(cur)
        if new_ip is not None and new_ip != stored_ip:
            self.ips.release(new_ip, uid)
        for value in new_ports.values():
            if value not in stored_ports:
                self.ports.release(value, uid)
        return cur

    def _release_unused(self, svc: Obj) -> None:
        """Free claims this Service holds but does not use (type or port
        changes). Only settled claims go: a fresh one may belong to a write
        another worker has not finished."""
        uid = svc["metadata"].get("uid", "")
        ip, ports = _in_use(svc)
        extra = [(self.ips, v) for v in self.ips.held_by(uid) if v != ip] + \
                [(self.ports, v) for v in self.ports.held_by(uid) if v not in ports]
        if not extra:
            return
        try:  # decide on the stored Service, not a cache that may be behind
            ip, ports = _in_use(self.objects.get("Service", svc["metadata"].get("namespace"),
                                                 svc["metadata"]["name"]))
        except errors.NotFound:
            return
        now = self.config.clock()
        for alloc, value in extra:
            if value == ip or value in ports:
                continue
            if now - alloc.claimed_at(value) >= _SETTLED:
                alloc.release(value, uid)

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


def _in_use(svc: Obj) -> tuple[str, set[str]]:
    spec = svc.get("spec") or {}
    ports = set()
    if spec.get("type") in NODE_PORT_TYPES:
        ports = {str(p["nodePort"]) for p in spec.get("ports") or [] if p.get("nodePort")}
    return spec.get("clusterIP") or "", ports


class _Gone(Exception):
    pass

