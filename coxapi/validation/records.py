"""Validation of Endpoints and Events, the records controllers and agents write."""

from __future__ import annotations

from typing import Any

from .common import IPV4, REQUIRED, Errors, is_str, object_list, one_of, port_number

Obj = dict[str, Any]


def validate_endpoints(errs: Errors, obj: Obj) -> None:
    for f, s in object_list(errs, "subsets", obj.get("subsets")):
        for section in ("addresses", "notReadyAddresses"):
            for af, a in object_list(errs, f"{f}.{section}", s.get(section)):
                ip = a.get("ip")
                if not is_str(ip) or not IPV4.match(ip):
                    errs.add(f"{af}.ip", f"Invalid value: {ip!r}: must be a valid IP address")
        for pf, p in object_list(errs, f"{f}.ports", s.get("ports")):
            port_number(errs, f"{pf}.port", p.get("port"))


def validate_event(errs: Errors, obj: Obj) -> None:
    inv = obj.get("involvedObject")
    if not isinstance(inv, dict):
        errs.add("involvedObject", REQUIRED)
    one_of(errs, "type", obj.get("type"), ("Normal", "Warning"))
