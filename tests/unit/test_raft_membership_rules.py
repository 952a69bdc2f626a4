"""The membership change rules (raftstore/membership.py): quorum checks, the
learner's catch-up rounds, the in-flight check, the persisted member list."""

from __future__ import annotations

import pytest

from cli.commands.masters import leader_wait, member_rows
from master.api.members import api_error
from raftstore.errors import StoreError
from raftstore.membership import (
    MEMBERSHIP,
    CatchUp,
    ChangeInFlight,
    NotLeader,
    UnknownMember,
    addition_problem,
    change_in_flight,
    load_members,
    removal_problem,
    save_members,
    start_peers,
)

M = ["a:1", "b:1", "c:1"]


def test_removal_keeps_a_reachable_majority_of_the_new_size():
    assert removal_problem(M, set(M), "c:1") is None
    assert removal_problem(M, {"a:1", "b:1"}, "c:1") is None  # the dead one goes
    problem = removal_problem(M, {"a:1", "c:1"}, "a:1")  # b down: c alone of {b, c}
    assert problem is not None and "need 2 reachable" in problem
    assert removal_problem(["a:1"], {"a:1"}, "a:1") == "a:1 is the last member"
    assert removal_problem(M, set(M), "z:1") is None  # unknown: answered elsewhere


def test_addition_needs_a_majority_of_the_new_size_with_the_learner():
    assert addition_problem(M, set(M), "d:1") is None
    assert addition_problem(M, {"a:1", "b:1"}, "d:1") is None  # 3 of 4 with d
    problem = addition_problem(M, {"a:1"}, "d:1")
    assert problem is not None and "remove the unreachable b:1, c:1 first" in problem


def test_catch_up_ends_with_a_round_shorter_than_an_election_timeout():
    gate = CatchUp(round_limit=0.4)
    assert not gate.feed(0.0, 0, 1000)  # round 1 aims at 1000
    assert not gate.feed(1.0, 999, 1200)
    assert not gate.feed(2.0, 1000, 1300)  # round 1 took 2 s: round 2 aims at 1300
    assert not gate.feed(2.1, 1299, 1310)
    assert gate.feed(2.3, 1300, 1320)  # round 2 took 0.3 s: caught up
    assert gate.rounds == 2


def test_change_in_flight_spots_a_membership_entry():
    assert not change_in_flight([b"\x00regular", b"\x01"])
    assert change_in_flight([b"\x00regular", bytes([MEMBERSHIP]) + b"add"])
    assert not change_in_flight([])


def test_the_member_list_round_trips_and_wins_over_the_flags(tmp_path):
    assert load_members(str(tmp_path)) is None
    assert start_peers("a:1", ["b:1", "c:1"], None) == ["b:1", "c:1"]
    save_members(str(tmp_path), ["c:1", "a:1", "d:1"])
    persisted = load_members(str(tmp_path))
    assert persisted == ["a:1", "c:1", "d:1"]
    assert start_peers("a:1", ["b:1", "c:1"], persisted) == ["c:1", "d:1"]
    (tmp_path / "members.json").write_text('{"members": [1]}')
    with pytest.raises(StoreError, match="not a member list"):
        load_members(str(tmp_path))


def test_refused_changes_map_to_statuses():
    assert api_error(UnknownMember("x")).code == 404
    assert api_error(ChangeInFlight("x")).code == 409
    err = api_error(NotLeader("x", "b:1"))
    assert err.code == 503 and err.details["leader"] == "b:1"


def test_a_change_asks_again_only_while_no_master_is_the_leader():
    from coxapi import errors

    assert leader_wait(api_error(NotLeader("x", "b:1"))) == 1.0  # Retry-After
    assert leader_wait(api_error(NotLeader("x", None))) == 1.0  # mid-election
    # refusals that another try would not change, or whose outcome is unknown
    assert leader_wait(api_error(ChangeInFlight("x"))) is None
    assert leader_wait(api_error(UnknownMember("x"))) is None
    assert leader_wait(errors.not_applied("no quorum", retry_after=2)) is None
    assert leader_wait(errors.Unavailable("no quorum within 3s", {"leader": "b:1"})) is None


def test_member_rows_show_catch_up_against_the_commit_index():
    view = {"leader": "a:1", "commit_index": 100, "members": [
        {"id": "a:1", "voter": True, "connected": True, "match_index": 100},
        {"id": "b:1", "voter": True, "connected": False, "match_index": 90},
        {"id": "d:1", "voter": False, "connected": True, "match_index": None}]}
    rows = member_rows(view, {"a:1": "m1"})
    assert rows[1] == ["*", "m1", "a:1", "voter", "yes", "100", "100", "caught up"]
    assert rows[2][-1] == "10 behind" and rows[3][3:] == ["learner", "yes", "-", "100",
                                                           "unknown"]
