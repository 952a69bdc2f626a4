"""Timestamps from an injected clock, in the API's RFC 3339 form."""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(ts: float, micro: bool = False) -> str:
    t = datetime.fromtimestamp(ts, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ")


def parse(value: str | None) -> float | None:
    """Seconds since the epoch, or None for a missing or malformed time."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
