"""Validation of Services."""

from __future__ import annotations

import json
from typing import Any

from .common import (
    IPV4,
    PROTOCOLS,
    REQUIRED,
    SERVICE_TYPES,
    Errors,
    dns1123_label,
    int_or_name_port,
    is_str,
    label_map,
    one_of,
    port_number,
)

Obj = dict[str, Any]


def validate_service(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    stype = spec.get("type", "ClusterIP")
    one_of(errs, "spec.type", stype, SERVICE_TYPES)
    ports = spec.get("ports")
    if stype == "ExternalName":
        if not spec.get("externalName"):
            errs.add("spec.externalName", REQUIRED)
    elif not isinstance(ports, list) or not ports:
        errs.add("spec.ports", REQUIRED)
    ports = ports if isinstance(ports, list) else []
    seen: set = set()
    names: set[str] = set()
    for i, p in enumerate(ports):
        f = f"spec.ports[{i}]"
        if not isinstance(p, dict):
            errs.add(f, "must be an object")
            continue
        port_number(errs, f"{f}.port", p.get("port"))
        if p.get("targetPort") is not None:
            int_or_name_port(errs, f"{f}.targetPort", p.get("targetPort"))
        proto = p.get("protocol", "TCP")
        one_of(errs, f"{f}.protocol", proto, PROTOCOLS)
        key = json.dumps([p.get("port"), proto])  # either may be any JSON, a list too
        if key in seen:
            errs.add(f, f"Duplicate value: {{port: {p.get('port')}, protocol: {proto}}}")
        seen.add(key)
        name = p.get("name")
        if len(ports) > 1 and not name:
            errs.add(f"{f}.name", "Required value (ports must be named when there are several)")
        if name:
            if not is_str(name) or dns1123_label(name):
                errs.add(f"{f}.name", f"Invalid value: {name!r}: must be a DNS-1123 label")
            elif name in names:
                errs.add(f"{f}.name", f"Duplicate value: {name!r}")
            else:
                names.add(name)
        np = p.get("nodePort")
        if np is not None:
            if stype not in ("NodePort", "LoadBalancer"):
                errs.add(f"{f}.nodePort", "may not be used when `type` is 'ClusterIP'")
            else:
                port_number(errs, f"{f}.nodePort", np)
    sel = spec.get("selector")
    if sel is not None:
        label_map(errs, "spec.selector", sel)
    cip = spec.get("clusterIP")
    if cip not in (None, "", "None") and (not is_str(cip) or not IPV4.match(cip)):
        errs.add("spec.clusterIP", f"Invalid value: {cip!r}: must be empty, 'None', or a valid IP address")
    if spec.get("sessionAffinity", "None") not in ("None", "ClientIP"):
        errs.add("spec.sessionAffinity", "Unsupported value: supported values: ClientIP, None")
