"""Validation of Endpoints and Events, the records controllers and agents write."""

from __future__ import annotations

from typing import Any

from .common import IPV4, REQUIRED, Errors, is_str, object_list, one_of, port_number

Obj = dict[str, Any]


def validate_endpoints(errs: Errors, obj: Obj) -> None:
    for f, s in object_list(errs, "subsets", obj.get("subsets")):
        for section in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(s.get(section) or []):
                ip = a.get("ip") if isinstance(a, dict) else None
                if not is_str(ip) or not IPV4.match(ip):
                    errs.add(f"{f}.{section}[{j}].ip",
                             f"Invalid value: {ip!r}: must be a valid IP address")
        for j, p in enumerate(s.get("ports") or []):
            port_number(errs, f"{f}.ports[{j}].port",
                         p.get("port") if isinstance(p, dict) else None)


def validate_event(errs: Errors, obj: Obj) -> None:
    inv = obj.get("involvedObject")
    if not isinstance(inv, dict):
        errs.add("involvedObject", REQUIRED)
    one_of(errs, "type", obj.get("type"), ("Normal", "Warning"))
