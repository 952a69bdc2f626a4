"""Validation of Endpoints and Events, the records controllers and agents write."""

from __future__ import annotations

from typing import Any

from .common import IPV4, REQUIRED, Errors, is_str, port_number

Obj = dict[str, Any]


def validate_endpoints(errs: Errors, obj: Obj) -> None:
    subsets = obj.get("subsets")
    if subsets is None:
        return
    if not isinstance(subsets, list):
        errs.add("subsets", "must be a list")
        return
    for i, s in enumerate(subsets):
        if not isinstance(s, dict):
            errs.add(f"subsets[{i}]", "must be an object")
            continue
        for section in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(s.get(section) or []):
                ip = a.get("ip") if isinstance(a, dict) else None
                if not is_str(ip) or not IPV4.match(ip):
                    errs.add(f"subsets[{i}].{section}[{j}].ip", f"Invalid value: {ip!r}: "
                                                                "must be a valid IP address")
        for j, p in enumerate(s.get("ports") or []):
            port_number(errs, f"subsets[{i}].ports[{j}].port",
                         p.get("port") if isinstance(p, dict) else None)


def validate_event(errs: Errors, obj: Obj) -> None:
    inv = obj.get("involvedObject")
    if not isinstance(inv, dict):
        errs.add("involvedObject", REQUIRED)
    if obj.get("type") not in ("Normal", "Warning"):
        errs.add("type", f"Unsupported value: {obj.get('type')!r}: supported values: Normal, Warning")
