"""Endpoints: the addresses behind a Service, written by the endpoints controller."""

from __future__ import annotations

from typing import Any

from coxapi.validation import records
from coxapi.validation.common import Errors

from .columns import AGE, NONE, Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]


def endpoints_summary(ep: Obj, limit: int = 3) -> str:
    addrs = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or []
        for a in subset.get("addresses") or []:
            if ports:
                addrs += [f"{a.get('ip')}:{p.get('port')}" for p in ports]
            else:
                addrs.append(str(a.get("ip")))
    if not addrs:
        return NONE
    more = len(addrs) - limit
    return ",".join(addrs[:limit]) + (f" + {more} more..." if more > 0 else "")


class EndpointsStrategy(Strategy):
    create_on_update = True
    columns = (Column("ENDPOINTS", lambda o, now: endpoints_summary(o)), AGE)

    def validate(self, errs: Errors, obj: Obj) -> None:
        records.validate_endpoints(errs, obj)


KIND = Kind("Endpoints", "endpoints", "", "v1", True, ("ep",), strategy=EndpointsStrategy())
