"""Pre-vote (Raft thesis §9.6): the rules, apart from pysyncobj's wiring
(replica.py).

pysyncobj's follower whose election timer fires bumps its term at once and
asks for votes. A follower that restarted, or one that was cut off and came
back, then deposes a healthy leader: every replica that sees the higher term
steps down (seen: term 11 -> 13 on restarting one follower, every controller
restarted). With pre-vote the follower first asks whether the others *would*
vote for it at the next term, changing nothing on either side; only with a
majority of yes does it start the real election. A replica says yes only if
it has not heard from a leader within the minimum election timeout and the
candidate's log is at least as up to date as its own, so a returning replica
cannot win while the leader still reaches a majority.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRE_VOTE = "pre_vote"
PRE_VOTE_RESPONSE = "pre_vote_response"


@dataclass(frozen=True)
class LogPosition:
    index: int
    term: int

    def at_least(self, other: LogPosition) -> bool:
        """Raft's "at least as up to date": a later last term, or the same
        term and at least as long."""
        return (self.term, self.index) >= (other.term, other.index)


def grant(*, term: int, candidate_log: LogPosition, current_term: int, own_log: LogPosition,
          is_leader: bool, since_leader_contact: float, min_election_timeout: float) -> bool:
    """Whether this replica would vote for a candidate standing at ``term``."""
    if is_leader or since_leader_contact < min_election_timeout:
        return False  # a leader is alive, as far as this replica knows
    return term > current_term and candidate_log.at_least(own_log)


def majority(votes: int, voters: int) -> bool:
    return votes > voters / 2


@dataclass
class PreVoteRound:
    """A pre-vote this replica runs: the term it would stand at and who said yes."""
    term: int
    voters: int
    granted: set[str] = field(default_factory=set)  # node ids, this replica's own vote aside

    def won(self) -> bool:
        return majority(len(self.granted) + 1, self.voters)

    def request(self, log_position: LogPosition) -> dict:
        return {"type": PRE_VOTE, "term": self.term,
                "last_log_index": log_position.index, "last_log_term": log_position.term}


def response(request: dict, granted: bool) -> dict:
    return {"type": PRE_VOTE_RESPONSE, "term": request["term"], "granted": granted}
