"""Pod log options (coxapi.logoptions): parsing, checks that name the field, byte limits."""

from __future__ import annotations

import pytest

from coxapi import errors
from coxapi.logoptions import LogOptions, limited, parse

NOW = 1_700_000_000.0


def test_defaults_and_every_option():
    assert parse({}, NOW) == LogOptions()
    opts = parse({"follow": "true", "previous": "1", "timestamps": "true", "sinceSeconds": "60",
                  "tailLines": "5", "limitBytes": "100"}, NOW)
    assert opts == LogOptions(True, True, True, NOW - 60, 5, 100)
    assert parse({"sinceTime": "2023-11-14T22:13:20Z"}, NOW).since == NOW
    assert parse({"tailLines": "-1"}, NOW).tail_lines is None  # kubectl's "all"


@pytest.mark.parametrize("query, field", [
    ({"sinceSeconds": "0"}, "sinceSeconds"),
    ({"sinceSeconds": "soon"}, "sinceSeconds"),
    ({"sinceTime": "yesterday"}, "sinceTime"),
    ({"sinceSeconds": "5", "sinceTime": "2023-11-14T22:13:20Z"}, "sinceSeconds, sinceTime"),
    ({"tailLines": "-2"}, "tailLines"),
    ({"limitBytes": "0"}, "limitBytes"),
    ({"follow": "maybe"}, "follow"),
])
def test_bad_options_are_a_bad_request_naming_the_field(query, field):
    with pytest.raises(errors.BadRequest) as e:
        parse(query, NOW)
    assert str(e.value).startswith(field + ":")


def test_limited_cuts_the_stream_at_the_byte_limit():
    assert b"".join(limited([b"abc", b"def", b"ghi"], 5)) == b"abcde"
    assert b"".join(limited([b"abc"], None)) == b"abc"
    assert b"".join(limited([b"abc", b"def"], 3)) == b"abc"
