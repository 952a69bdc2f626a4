"""The options of a pod log request (Kubernetes' ``PodLogOptions``), parsed and checked.

The master checks them before it relays a request (a bad one is a 400 that
names the parameter, and never reaches a node); the node agent parses the
same query to apply them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from . import errors
from .timefmt import parse_epoch

_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")
# The query parameters a node agent is given (``container`` is in its path).
RELAYED = ("follow", "previous", "timestamps", "sinceSeconds", "sinceTime", "tailLines",
           "limitBytes")


@dataclass(frozen=True)
class LogOptions:
    follow: bool = False
    previous: bool = False
    timestamps: bool = False
    since: float | None = None  # epoch seconds: from sinceSeconds (ago) or sinceTime
    tail_lines: int | None = None
    limit_bytes: int | None = None


def _flag(query: Mapping[str, str], name: str) -> bool:
    value = query.get(name, "").lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise errors.BadRequest(f"{name}: must be true or false, not {query[name]!r}")


def _int(query: Mapping[str, str], name: str, minimum: int) -> int | None:
    raw = query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.BadRequest(f"{name}: must be an integer, not {raw!r}") from None
    if name == "tailLines" and value == -1:
        return None  # kubectl's "all"
    if value < minimum:
        raise errors.BadRequest(f"{name}: must be at least {minimum}, not {value}")
    return value


def parse(query: Mapping[str, str], now: float) -> LogOptions:
    """``LogOptions`` from a request's query; raises ``BadRequest`` naming the field."""
    since_seconds = _int(query, "sinceSeconds", 1)
    since_time = query.get("sinceTime")
    if since_seconds is not None and since_time:
        raise errors.BadRequest("sinceSeconds, sinceTime: at most one of them may be set")
    since = None
    if since_seconds is not None:
        since = now - since_seconds
    elif since_time:
        since = parse_epoch(since_time)
        if since is None:
            raise errors.BadRequest(f"sinceTime: must be an RFC 3339 time, not {since_time!r}")
    return LogOptions(follow=_flag(query, "follow"), previous=_flag(query, "previous"),
                      timestamps=_flag(query, "timestamps"), since=since,
                      tail_lines=_int(query, "tailLines", 0),
                      limit_bytes=_int(query, "limitBytes", 1))


def limited(chunks: Iterable[bytes], limit: int | None) -> Iterator[bytes]:
    """At most ``limit`` bytes of ``chunks`` (all of them if None)."""
    if limit is None:
        yield from chunks
        return
    left = limit
    for chunk in chunks:
        if len(chunk) >= left:
            yield chunk[:left]
            return
        left -= len(chunk)
        yield chunk
