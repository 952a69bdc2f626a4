"""RaftStore: the store replicated over pysyncobj.

Writes become commands, batched by group commit into Raft entries; each
returns once its entry is committed and applied on this replica. A write whose
entry is lost to a leader change is retried with the same request id (the
state machine answers a repeat with the first result) until the write deadline,
then ``Unavailable`` (outcome unknown). A linearizable read sends a no-op
through the same path and reads locally once it has been applied.

A replica that has known no leader for longer than an election plausibly
takes (``election_grace``) answers at once instead of waiting for the write
deadline: ``Unavailable`` before proposing (nothing was written), or, for a
request already proposed, as soon as the leader has been gone that long.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from . import commands as C
from .base import StoreBase
from .config import StoreConfig
from .errors import Compacted, Unavailable
from .groupcommit import GroupCommit, Pending
from .memberops import Membership
from .membership import load_members, start_peers
from .metrics import COMMIT_SECONDS
from .mvcc import MVCCState
from .replica import PipelinedSyncObj, StateMachine, raft_conf, wait_bound

log = logging.getLogger(__name__)

ROLES = {0: "follower", 1: "candidate", 2: "leader"}
LEADER = 2
RETRY_SLICE = 0.25  # re-check stalled proposals this often while waiting
RETRY_BACKOFF = 0.02
_RETRY = object()  # a proposal that was not applied: propose it again


def _settle(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


def _wake_first(waiting: list[asyncio.Future]) -> None:
    if waiting:
        _settle(waiting[0])


class RaftStore(StoreBase):
    def __init__(self, config: StoreConfig) -> None:
        config.validate()
        super().__init__(config, time.monotonic)
        self._closed = False
        self._leader = False
        self._last_lease_check = 0.0
        # since when this replica has known no leader (None: it knows one);
        # written by the Raft thread each tick, read by requests
        self._leaderless_since: float | None = time.monotonic()
        self._sm = StateMachine(self._apply, self._restored)
        self._state = self._sm.state
        self._gc = GroupCommit(self._propose, max_batch=config.max_batch,
                               max_inflight=config.max_inflight)
        # a membership changed at run time outlives the --peer flags (membership.py)
        peers = start_peers(config.self_addr, list(config.peers), load_members(config.data_dir))
        self._raft = PipelinedSyncObj(config.self_addr, peers,
                                      conf=raft_conf(config, self._on_state_changed),
                                      consumers=[self._sm], fsync=config.fsync,
                                      data_dir=config.data_dir)
        wait_bound(self._raft, config.bind_addr or config.self_addr)
        self._raft.addOnTickCallback(self._on_tick)
        self.membership = Membership(self._raft, config, self.is_leader, self._leader_id)

    # ---- log plumbing ----

    def _propose(self, cmds: list[dict], callback: Any) -> None:
        batch = C.batch(cmds, time.time(), self.config.limits())
        self._sm.apply(batch, callback=callback)

    def _restored(self, state: MVCCState) -> None:
        with self._lock:
            self._state = state
            # events between the old state and the snapshot were never seen here
            self._hub.fail_all(Compacted(state.compact_revision,
                                         "replica state was replaced by a snapshot; re-watch"))

    def _submit(self, cmd: dict, writes: bool = True) -> Any:
        """``writes`` False: ``cmd`` changes nothing (a read barrier), so its
        failure leaves no write of unknown outcome behind."""
        started = self._may_submit()
        deadline = started + self.config.write_timeout
        while True:
            p = self._gc.submit(cmd)
            while not p.wait(min(RETRY_SLICE, max(0.0, deadline - time.monotonic()))):
                self._still_waiting(deadline, writes)
            if (result := self._outcome(p, started, deadline, writes)) is not _RETRY:
                return result
            time.sleep(RETRY_BACKOFF)  # the leader changed; give the election a moment

    async def _submit_async(self, cmd: dict) -> Any:
        """``_submit`` of a write, awaited on an event loop: the Raft thread's
        completion wakes the loop, no thread waits."""
        started = self._may_submit()
        deadline = started + self.config.write_timeout
        loop = asyncio.get_running_loop()
        waiting: list[asyncio.Future] = []

        def wake() -> None:  # on the Raft thread
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(_wake_first, waiting)
        while True:
            p = self._gc.submit(cmd)
            p.on_resolve(wake)
            while not p.resolved:
                fut = loop.create_future()
                waiting[:] = [fut]
                timer = loop.call_later(min(RETRY_SLICE, max(0.0, deadline - time.monotonic())),
                                        _settle, fut)
                await fut
                timer.cancel()
                if not p.resolved:
                    self._still_waiting(deadline, True)
            if (result := self._outcome(p, started, deadline, True)) is not _RETRY:
                return result
            await asyncio.sleep(RETRY_BACKOFF)

    def _may_submit(self) -> float:
        """When a submit starts; Unavailable (nothing written) if it cannot."""
        if self._closed:
            raise Unavailable("store is closed", outcome_unknown=False)
        leaderless = self._leaderless_for()
        if leaderless is not None:
            raise Unavailable(f"no leader for {leaderless:.1f}s (no quorum)",
                              outcome_unknown=False)
        return time.monotonic()

    def _still_waiting(self, deadline: float, writes: bool) -> None:
        """A proposal not yet answered: Unavailable once there is no leader or
        the deadline passed, else nudge the group commit."""
        outcome = "; the outcome of the write is unknown" if writes else ""
        leaderless = self._leaderless_for()
        if leaderless is not None:
            raise Unavailable(f"no leader for {leaderless:.1f}s (no quorum){outcome}",
                              outcome_unknown=writes)
        if time.monotonic() >= deadline:
            raise Unavailable(
                f"no quorum or no leader within {self.config.write_timeout:g}s "
                f"(leader: {self._leader_id() or 'none'}){outcome}", outcome_unknown=writes)
        self._gc.flush()

    def _outcome(self, p: Pending, started: float, deadline: float, writes: bool) -> Any:
        """A resolved proposal's result, or ``_RETRY`` (it was not applied: the
        leader changed); Unavailable when no retry fits before the deadline."""
        if p.failure == 0:
            COMMIT_SECONDS.observe(time.monotonic() - started)
            return p.result
        if time.monotonic() + RETRY_BACKOFF >= deadline:
            outcome = "; the outcome of the write is unknown" if writes else ""
            raise Unavailable(f"not committed within {self.config.write_timeout:g}s "
                              f"(last failure: pysyncobj reason {p.failure}){outcome}",
                              outcome_unknown=writes)
        return _RETRY

    def election_grace(self) -> float:
        """How long an election plausibly takes once the leader is found gone:
        one election timeout, and one more for a split vote."""
        return 2 * self.config.election_timeout_max

    def _leaderless_for(self) -> float | None:
        """How long this replica has known no leader, once that is longer than
        an election plausibly takes; else None."""
        since = self._leaderless_since
        if since is None:
            return None
        gone = time.monotonic() - since
        return gone if gone > self.election_grace() else None

    def _read_barrier(self) -> None:
        self._submit(C.barrier(), writes=False)

    # ---- leadership and leases (Raft thread) ----

    def _on_state_changed(self, old: int, new: int) -> None:
        leader = new == LEADER
        if leader == self._leader:
            return
        self._leader = leader
        if leader:
            with self._lock:
                leases = [(ls.id, ls.ttl) for ls in self._state.leases.values()]
            self._leases.reset(leases)
        self._notify_leadership(leader)

    def _on_tick(self) -> None:
        now = time.monotonic()
        if self._raft._getLeader() is None:
            if self._leaderless_since is None:
                self._leaderless_since = now
        else:
            self._leaderless_since = None
        if not self._leader or now - self._last_lease_check < 0.1:
            return
        self._last_lease_check = now
        for lid in self._leases.due():
            # fire and forget: the lease clock re-proposes if this one is lost
            self._gc.submit(C.lease_expire(lid))

    # ---- introspection ----

    def is_leader(self) -> bool:
        return self._leader and not self._closed

    def _leader_id(self) -> str | None:
        leader = self._raft._getLeader()  # Node or None
        return leader.id if leader is not None else None

    def status(self) -> dict:
        st = self._raft.getStatus()
        peers = [{"id": p.id, "connected": st.get(f"partner_node_status_server_{p.id}", 0) == 2,
                  # the leader's view of how far each has the log
                  "match_index": st.get(f"match_idx_server_{p.id}") if st["state"] == LEADER
                  else None}
                 for p in sorted(self._raft.otherNodes, key=lambda n: n.id)]
        return {"id": self.config.self_addr, "role": ROLES.get(st["state"], "follower"),
                "leader": st["leader"].id if st["leader"] is not None else None,
                "term": st["raft_term"], "commit_index": st["commit_idx"],
                "applied_index": st["last_applied"], "peers": peers,
                "has_quorum": st["has_quorum"], "log_len": st["log_len"],
                "raft_entries_proposed": self._gc.entries,
                "commands_proposed": self._gc.commands,
                "commands_by_resource": dict(self._gc.by_resource),
                **self._base_status()}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._raft.destroy()
        self._hub.close_all()
        if self._leader:
            self._leader = False
            self._notify_leadership(False)
