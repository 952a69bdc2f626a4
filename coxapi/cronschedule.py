"""Cron schedules as CronJobs use them: the five-field syntax and the
``@hourly`` family (parsed by croniter), evaluated in ``spec.timeZone`` (or
UTC). Pure: times are passed in as Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

# Kubernetes refuses a schedule that names its zone inline; spec.timeZone says it.
_INLINE_ZONE = ("TZ=", "CRON_TZ=")


def zone(name: str | None) -> tzinfo:
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def problem(schedule: str, time_zone: str | None) -> str | None:
    """Why ``schedule`` (in ``time_zone``) is not valid, or None."""
    if schedule.strip().startswith(_INLINE_ZONE):
        return f"{schedule!r}: use spec.timeZone rather than TZ or CRON_TZ in the schedule"
    try:
        zone(time_zone)
    except ValueError as e:
        return str(e)
    if len(schedule.split()) not in (1, 5) or not croniter.is_valid(schedule):
        return f"{schedule!r}: not a standard cron schedule"
    return None


def latest(schedule: str, time_zone: str | None, after: float, until: float) -> float | None:
    """The most recent scheduled time t with ``after < t <= until``, or None
    (Kubernetes starts only the latest of several missed times)."""
    # croniter's get_prev is strictly before its start: start past ``until``.
    it = croniter(schedule, datetime.fromtimestamp(until + 1, zone(time_zone)))
    t = float(it.get_prev(float))
    while t > until:
        t = float(it.get_prev(float))
    return t if t > after else None


def next_after(schedule: str, time_zone: str | None, after: float) -> float:
    return float(croniter(schedule, datetime.fromtimestamp(after, zone(time_zone)))
                 .get_next(float))

