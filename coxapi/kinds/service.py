"""Services: allocated clusterIP and nodePorts survive updates that leave them out."""

from __future__ import annotations

import copy
import json
from typing import Any

from coxapi import defaults, patchmeta
from coxapi.validation import services, updates
from coxapi.validation.common import Errors, dns1035_label

from .columns import AGE, NONE, Column, map_selector_text
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]


def service_ports(svc: Obj) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        port = f"{p.get('port')}"
        if p.get("nodePort"):
            port += f":{p['nodePort']}"
        out.append(f"{port}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or NONE


def external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    ips = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips += [i.get("ip") or i.get("hostname") for i in ingress]
        return ",".join(ips) if ips else "<pending>"
    if spec.get("type") == "ExternalName":
        return spec.get("externalName") or NONE
    return ",".join(ips) or NONE


class ServiceStrategy(Strategy):
    return_deleted_object = True
    patch_fields = patchmeta.fields_of(spec=patchmeta.obj(ports=patchmeta.merge_list("port")),
                                       status=patchmeta.CONDITIONS_STATUS)
    name_check = staticmethod(dns1035_label)
    columns = (
        Column("TYPE", lambda o, now: (o.get("spec") or {}).get("type", "ClusterIP")),
        Column("CLUSTER-IP", ".spec.clusterIP", default=NONE),
        Column("EXTERNAL-IP", lambda o, now: external_ip(o)),
        Column("PORT(S)", lambda o, now: service_ports(o)),
        AGE,
        Column("SELECTOR", lambda o, now: map_selector_text((o.get("spec") or {}).get("selector")),
               1),
    )

    def defaults(self, obj: Obj) -> None:
        defaults.service(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        services.validate_service(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.service_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"loadBalancer": {}}

    def prepare_for_update(self, old: Obj, new: Obj) -> None:
        """An update that leaves out what the system allocated (clusterIP,
        nodePorts) keeps the allocated values, like Kubernetes' patchAllocatedValues."""
        ospec, nspec = old.get("spec") or {}, new.get("spec")
        if not isinstance(nspec, dict):
            return
        for f in ("clusterIP", "clusterIPs"):
            if not nspec.get(f) and ospec.get(f):
                nspec[f] = copy.deepcopy(ospec[f])
        ports = nspec.get("ports")
        if nspec.get("type") in ("NodePort", "LoadBalancer") and isinstance(ports, list):
            allocated = {_port_key(p): p.get("nodePort")
                         for p in ospec.get("ports") or [] if isinstance(p, dict)}
            for p in ports:  # not validated yet: any JSON
                if isinstance(p, dict) and not p.get("nodePort"):
                    np = allocated.get(_port_key(p))
                    if np:
                        p["nodePort"] = np


def _port_key(port: Obj) -> str:
    return json.dumps([port.get("port"), port.get("protocol", "TCP")])


KIND = Kind("Service", "services", "", "v1", True, ("svc",), ("status",),
            strategy=ServiceStrategy(), categories=("all",))
