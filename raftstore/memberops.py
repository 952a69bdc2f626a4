"""Adding and removing a replica at run time, for callers on any thread
(the master's admin endpoint). Only the leader changes the membership; one
change at a time; a new replica is a learner until it has caught up
(membership.py has the rules, learners.py the Raft-thread side)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from .config import StoreConfig, check_addr
from .errors import InvalidArgument, Unavailable
from .membership import (
    BadMember,
    CatchUp,
    ChangeInFlight,
    NotCaughtUp,
    NotLeader,
    UnknownMember,
    WouldLoseQuorum,
    addition_problem,
    removal_problem,
)

log = logging.getLogger(__name__)

POLL = 0.05
CATCH_UP_TIMEOUT = 60.0  # seconds a learner may take to catch up
COMMIT_TIMEOUT = 10.0  # seconds the membership entry may take to commit
FAIL_SUCCESS = 0  # pysyncobj's FAIL_REASON.SUCCESS


class Membership:
    def __init__(self, raft: Any, config: StoreConfig, is_leader: Callable[[], bool],
                 leader_id: Callable[[], str | None]) -> None:
        self._raft = raft
        self._config = config
        self._is_leader = is_leader
        self._leader_id = leader_id
        self._change = threading.Lock()  # one change at a time through this replica

    def view(self) -> dict:
        return dict(self._raft.run_in_raft(self._raft.membership_view),
                    self_id=self._config.self_addr, leader=self._leader_id())

    def _require_leader(self) -> None:
        if not self._is_leader():
            leader = self._leader_id()
            raise NotLeader(f"only the leader changes the membership; the leader is "
                            f"{leader or 'not known'}", leader)

    def _begin(self) -> None:
        if not self._change.acquire(blocking=False):
            raise ChangeInFlight("another membership change is in progress on this master; "
                                 "retry once it has finished")
        try:
            self._require_leader()
            if self._raft.run_in_raft(self._raft.membership_in_flight):
                raise ChangeInFlight("a membership change is not yet committed; retry once "
                                     "it is (one change at a time)")
        except BaseException:
            self._change.release()
            raise

    def _voters(self) -> tuple[list[str], set[str]]:
        view = self._raft.run_in_raft(self._raft.membership_view)
        voters = [m for m in view["members"] if m["voter"]]
        return ([m["id"] for m in voters],
                {m["id"] for m in voters if m["connected"]})

    def add(self, address: str, catch_up_timeout: float = CATCH_UP_TIMEOUT) -> dict:
        """Stream the log to ``address`` until it has caught up, then add it
        as a voting member. Returns the new view."""
        try:
            check_addr(address)
        except InvalidArgument as e:
            raise BadMember(f"address: {e}") from None
        self._begin()
        try:
            members, reachable = self._voters()
            if address in members:
                raise BadMember(f"address: {address} is already a member")
            problem = addition_problem(members, reachable, address)
            if problem:
                raise WouldLoseQuorum(problem)
            log.info("adding %s: streaming the log to it as a learner (up to %gs)",
                     address, catch_up_timeout)
            self._raft.run_in_raft(lambda: self._raft.add_learner(address))
            try:
                self._catch_up(address, catch_up_timeout)
                self._commit(lambda cb: self._raft.addNodeToCluster(address, cb),
                             f"add {address}")
            finally:
                # a learner that was not added (or, once added, no longer is one)
                self._raft.run_in_raft(lambda: self._raft.drop_learner(address))
            log.info("added %s to the members", address)
            return self.view()
        finally:
            self._change.release()

    def _catch_up(self, address: str, timeout: float) -> None:
        gate = CatchUp(round_limit=self._config.election_timeout_min)
        deadline = time.monotonic() + timeout
        match = commit = 0
        while time.monotonic() < deadline:
            self._require_leader()
            progress = self._raft.run_in_raft(lambda: (self._raft.learner_progress(address),
                                                       self._raft.raftCommitIndex))
            state, commit = progress
            if state is None:
                raise NotLeader("leadership changed while the new member caught up",
                                self._leader_id())
            _connected, match = state
            if gate.feed(time.monotonic(), match, commit):
                return
            time.sleep(POLL)
        raise NotCaughtUp(
            f"{address} did not catch up within {timeout:g}s (it has the log up to {match}, "
            f"the leader committed {commit}); is the new master running, with --raft {address} "
            f"and a --peer for each current member?")

    def remove(self, target: str) -> dict:
        """Remove a member (by Raft address). The leader cannot remove itself:
        it hands leadership to the most caught-up member first and answers
        NotLeader, so the caller retries at the new leader."""
        self._begin()
        try:
            members, reachable = self._voters()
            if target not in members:
                raise UnknownMember(f"{target} is not a member (members: {', '.join(members)})")
            problem = removal_problem(members, reachable, target)
            if problem:
                raise WouldLoseQuorum(problem)
            log.info("removing %s from the members", target)
            if target == self._config.self_addr:
                self._transfer_leadership()
            self._commit(lambda cb: self._raft.removeNodeFromCluster(target, cb),
                         f"remove {target}")
            log.info("removed %s from the members", target)
            return self.view()
        finally:
            self._change.release()

    def _transfer_leadership(self) -> None:
        done = threading.Event()
        self._raft.run_in_raft(lambda: self._raft.transferLeadership(None, lambda *_: done.set()))
        deadline = time.monotonic() + 2 * self._config.election_timeout_max
        while time.monotonic() < deadline and self._is_leader():
            time.sleep(POLL)
        if self._is_leader():
            raise Unavailable("this master is the one to remove and could not hand leadership "
                              "to a caught-up member; retry", outcome_unknown=False)
        raise NotLeader("this master is the one to remove: it handed leadership on; "
                        "retry at the new leader", self._leader_id())

    def _commit(self, propose: Callable[[Callable[[Any, int], None]], None], what: str) -> None:
        result: dict[str, int] = {}
        done = threading.Event()

        def callback(_res: Any, err: int) -> None:
            result["err"] = err
            done.set()

        propose(callback)
        if not done.wait(COMMIT_TIMEOUT):
            raise Unavailable(f"{what}: not committed within {COMMIT_TIMEOUT:g}s; "
                              f"see `cox cluster status` for the outcome")
        if result["err"] != FAIL_SUCCESS:
            raise Unavailable(f"{what}: refused by Raft (pysyncobj reason {result['err']}); "
                              f"see `cox cluster status` for the outcome")
