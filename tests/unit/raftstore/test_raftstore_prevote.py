"""Pre-vote's rules (raftstore/prevote.py), check-quorum, and the rejoin helpers."""

from __future__ import annotations

from raftstore.appendcheck import rewind_to
from raftstore.config import StoreConfig
from raftstore.peerguard import source_host
from raftstore.prevote import PRE_VOTE, LogPosition, PreVoteRound, grant, response
from raftstore.replica import raft_conf

OWN = LogPosition(index=10, term=3)


def _grant(**kw) -> bool:
    args = {"term": 5, "candidate_log": OWN, "current_term": 4, "own_log": OWN,
            "is_leader": False, "since_leader_contact": 1.0, "min_election_timeout": 0.4}
    return grant(**{**args, **kw})


def test_a_replica_without_a_leader_grants_an_up_to_date_candidate_at_a_newer_term():
    assert _grant()
    assert _grant(candidate_log=LogPosition(11, 3)) and _grant(candidate_log=LogPosition(2, 4))


def test_no_pre_vote_while_a_leader_was_heard_within_the_minimum_election_timeout():
    assert not _grant(since_leader_contact=0.1)
    assert not _grant(is_leader=True)


def test_no_pre_vote_for_a_log_behind_or_a_term_not_newer():
    assert not _grant(candidate_log=LogPosition(9, 3))
    assert not _grant(candidate_log=LogPosition(20, 2))
    assert not _grant(term=4)


def test_a_round_is_won_with_a_majority_counting_the_candidate():
    r = PreVoteRound(term=5, voters=3)
    assert r.request(OWN) == {"type": PRE_VOTE, "term": 5, "last_log_index": 10,
                              "last_log_term": 3}
    assert not r.won()
    r.granted.add("b")
    assert r.won()
    assert PreVoteRound(term=1, voters=1).won()  # a lone replica
    five = PreVoteRound(term=2, voters=5, granted={"b"})
    assert not five.won()


def test_a_response_names_the_term_asked_about():
    assert response({"type": PRE_VOTE, "term": 7}, True) == {
        "type": "pre_vote_response", "term": 7, "granted": True}


def test_check_quorum_steps_a_leader_down_within_an_election_timeout():
    cfg = StoreConfig()
    assert raft_conf(cfg, lambda old, new: None).leaderFallbackTimeout <= cfg.election_timeout_max
    slow = StoreConfig(leader_fallback_timeout=5.0, election_timeout_min=1.0,
                       election_timeout_max=2.0)
    assert raft_conf(slow, lambda old, new: None).leaderFallbackTimeout == 2.0


def test_a_follower_that_cannot_append_asks_for_the_entry_after_its_commit_index():
    assert rewind_to(requested=140, committed=100) == 101  # prevLogIdx's term differs
    assert rewind_to(requested=353, committed=349) == 350  # no entry at prevLogIdx
    assert rewind_to(requested=50, committed=100) == 50  # never forward


def test_peer_connections_leave_from_the_bind_address_unless_a_wildcard():
    assert source_host("127.0.0.3:7001") == "127.0.0.3"
    assert source_host("[::1]:7001") == "::1"
    assert source_host("0.0.0.0:7001") is None and source_host(None) is None
