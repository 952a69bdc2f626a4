"""coxapi.timefmt: the API's RFC 3339 times, formatted and parsed in one place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from coxapi.timefmt import now_rfc3339, parse_epoch, parse_time, rfc3339


def test_times_are_utc_with_a_z_to_the_second_or_the_microsecond():
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert rfc3339(1.25, micro=True) == "1970-01-01T00:00:01.250000Z"
    assert rfc3339(datetime(2024, 5, 6, 7, 8, 9, 10, tzinfo=UTC)) == "2024-05-06T07:08:09Z"


def test_a_datetime_in_another_zone_is_written_in_utc_and_a_naive_one_is_taken_as_utc():
    plus2 = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2024, 5, 6, 9, 0, tzinfo=plus2)) == "2024-05-06T07:00:00Z"
    assert rfc3339(datetime(2024, 5, 6, 9, 0)) == "2024-05-06T09:00:00Z"


def test_what_is_written_parses_back():
    for micro in (False, True):
        text = now_rfc3339(micro)
        assert rfc3339(parse_epoch(text), micro) == text
    assert parse_time("2024-05-06T07:08:09Z") == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def test_docker_nanoseconds_and_offsets_parse():
    assert parse_epoch("1970-01-01T00:00:01.123456789Z") == 1.123456
    assert parse_epoch("1970-01-01T02:00:00+02:00") == 0.0
    assert parse_time("1970-01-01T00:00:00").tzinfo is UTC


def test_missing_or_malformed_times_are_none():
    for value in (None, "", "yesterday", "2024-13-01T00:00:00Z", 42, {"t": 1}):
        assert parse_time(value) is None and parse_epoch(value) is None
