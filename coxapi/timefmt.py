"""Times as the API writes them: RFC 3339 in UTC with a ``Z``, to the second
(Kubernetes' ``Time``: creationTimestamp, deletionTimestamp, conditions) or
to the microsecond (``MicroTime``: a Lease's renewTime). Every component
formats and parses them here."""

from __future__ import annotations

import time
from datetime import UTC, datetime

_SECONDS = "%Y-%m-%dT%H:%M:%SZ"
_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def rfc3339(t: float | datetime, micro: bool = False) -> str:
    """``t`` (seconds since the epoch, or a datetime; a naive one is taken as UTC)."""
    if not isinstance(t, datetime):
        t = datetime.fromtimestamp(t, UTC)
    elif t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime(_MICRO if micro else _SECONDS)


def now_rfc3339(micro: bool = False) -> str:
    return rfc3339(time.time(), micro)


def parse_time(value: object) -> datetime | None:
    """An aware datetime (no offset means UTC), or None for a missing or
    malformed time. Takes any RFC 3339 form, Docker's nanoseconds included."""
    if not value or not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def parse_epoch(value: object) -> float | None:
    """Seconds since the epoch, or None for a missing or malformed time."""
    t = parse_time(value)
    return None if t is None else t.timestamp()
