"""The chaos verdict's checks catch what they are there to catch."""

from __future__ import annotations

from tests.chaos import history as H


def _history() -> H.History:
    h = H.History()
    h.created("a", {"i": "1"}, "10", 1.0, 1.1)
    h.created("b", {"i": "2"}, "11", 1.2, 1.3)
    h.incremented("12", 1.4, 1.5)
    h.increment_unknown()
    return h


def test_a_missing_or_changed_create_is_lost():
    h = _history()
    assert H.lost_creates(h, {"a": {"i": "1"}, "b": {"i": "2"}, "x": {}}) == []
    assert H.lost_creates(h, {"a": {"i": "1"}}) == ["b"]
    assert H.lost_creates(h, {"a": {"i": "9"}, "b": {"i": "2"}}) == ["a"]


def test_an_unknown_create_that_later_succeeded_is_no_longer_unknown():
    h = H.History()
    h.create_unknown("a")
    h.created("a", {}, "5", 0.0, 0.1)
    assert h.unknown_creates == set()


def test_the_counter_must_lie_between_acknowledged_and_acknowledged_plus_unknown():
    h = _history()
    assert H.counter_problem(h, 1) is None
    assert H.counter_problem(h, 2) is None
    assert "between 1" in (H.counter_problem(h, 0) or "")
    assert H.counter_problem(h, 3) is not None


def test_a_resource_version_given_twice_is_reported():
    h = _history()
    assert H.reused_versions(h) == []
    h.incremented("11", 2.0, 2.1)
    assert H.reused_versions(h) == ["11"]


def test_stores_differing_on_a_key_are_reported():
    same = {"a": {"v": 1}}
    assert H.store_differences({"m1": same, "m2": dict(same)}) == []
    assert H.store_differences({"m1": same, "m2": {"a": {"v": 2}}}) == ["a"]
    assert H.store_differences({"m1": same, "m2": {}, "m3": same}) == ["a"]


def test_failover_counts_only_writes_sent_after_the_fault():
    h = H.History()
    h.created("in-flight", {}, "1", 0.5, 1.2)  # sent before the kill at 1.0
    h.created("after", {}, "2", 1.5, 2.0)
    assert h.first_ack_sent_after(1.0) == 2.0
    assert h.first_ack_sent_after(3.0) is None
