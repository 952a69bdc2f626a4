"""Status conditions as the controllers write them."""

from __future__ import annotations

from typing import Any

from coxapi import timefmt

Obj = dict[str, Any]


def set_condition(status: Obj, ctype: str, value: bool, reason: str, message: str,
                  now: float) -> None:
    """Set or add a condition; its lastTransitionTime moves only when its status does."""
    conds = status.setdefault("conditions", [])
    text = "True" if value else "False"
    for c in conds:
        if c.get("type") == ctype:
            if (c.get("status"), c.get("reason"), c.get("message")) == (text, reason, message):
                return  # unchanged: no write
            if c.get("status") != text:
                c["lastTransitionTime"] = timefmt.rfc3339(now)
            c.update(status=text, reason=reason, message=message,
                     lastProbeTime=timefmt.rfc3339(now))
            return
    conds.append({"type": ctype, "status": text, "reason": reason, "message": message,
                  "lastProbeTime": timefmt.rfc3339(now),
                  "lastTransitionTime": timefmt.rfc3339(now)})
