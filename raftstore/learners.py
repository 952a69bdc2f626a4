"""Membership change on the Raft thread: learners, the ``add``/``rem``
entries, the persisted member list (membership.py has the rules).

A learner is a replica the leader streams the log to without counting it:
pysyncobj already does that for its read-only nodes (``__readonlyNodes``:
sent every entry, match index tracked, never in a quorum or a vote), so a
learner is put there, and its transport connection made as for a member
(the new master runs as an ordinary replica whose ``--peer`` flags name the
current members; until it is a learner every member refuses its
connections). When the ``add`` entry naming it is appended, the learner
becomes a member in place: same connection, same match index.

Everything here runs on the Raft thread (``run_in_raft``), as pysyncobj's
own state is not locked.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from .membership import change_in_flight, save_members
from .pysyncobj_import import SyncObj, TCPNode

log = logging.getLogger(__name__)

MEMBERS_MESSAGE = "cx_members"  # the leader tells a learner who the members are
MEMBERS_EVERY = 1.0  # seconds between those messages


class LearnerMixin:
    """Mixed into PipelinedSyncObj (replica.py), before SyncObj."""

    _SyncObj__otherNodes: set
    _SyncObj__readonlyNodes: set
    _SyncObj__connectedNodes: set
    _SyncObj__raftMatchIndex: dict
    _SyncObj__raftNextIndex: dict
    _SyncObj__lastResponseTime: dict
    _SyncObj__raftLog: Any
    _SyncObj__raftCommitIndex: int
    _SyncObj__selfNode: Any
    _SyncObj__raftLeader: Any
    _SyncObj__transport: Any

    def _init_learners(self, data_dir: str | None) -> None:
        self._learners: dict[str, Any] = {}
        self._raft_calls: queue.SimpleQueue[tuple[Callable[[], Any], Future]] = queue.SimpleQueue()
        self._members_dir = data_dir
        self._members_saved: frozenset[str] | None = None
        # set at start and when a snapshot or the leader's message sets the
        # members: the tick compares and persists them only then, not on every
        # tick (a membership entry persists them at once: _SyncObj__doChangeCluster)
        self._members_dirty = True
        self._members_sent = 0.0

    # ---- calls from other threads ----

    def run_in_raft(self, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Run ``fn`` on the Raft thread at its next tick and return its result."""
        done: Future = Future()
        self._raft_calls.put((fn, done))
        notifier = getattr(self, "_SyncObj__pipeNotifier", None)
        if notifier is not None:
            notifier.notify()
        return done.result(timeout)

    # ---- the Raft thread ----

    def _learners_tick(self, is_leader: bool) -> None:
        while not self._raft_calls.empty():  # (raising Empty on every tick costs)
            try:
                fn, done = self._raft_calls.get_nowait()
            except queue.Empty:
                break
            try:
                done.set_result(fn())
            except Exception as e:  # noqa: BLE001 - handed to the caller
                done.set_exception(e)
        if self._learners and not is_leader:
            for address in list(self._learners):
                self.drop_learner(address)
        if self._learners and time.monotonic() - self._members_sent >= MEMBERS_EVERY:
            self._members_sent = time.monotonic()
            message = {"type": MEMBERS_MESSAGE, "members": self.member_ids()}
            for node in self._learners.values():
                self._SyncObj__transport.send(node, message)
        if self._members_dirty:
            self._members_dirty = False
            self._persist_members()

    def member_ids(self) -> list[str]:
        ids = {n.id for n in self._SyncObj__otherNodes}
        if self._SyncObj__selfNode is not None:
            ids.add(self._SyncObj__selfNode.id)
        return sorted(ids)

    def _persist_members(self) -> None:
        members = frozenset(self.member_ids())
        if self._members_dir and members != self._members_saved:
            save_members(self._members_dir, members)
            if self._members_saved is not None:
                log.info("members now %s", ", ".join(sorted(members)))
            self._members_saved = members

    def add_learner(self, address: str) -> None:
        if address in self._learners:
            return
        node = TCPNode(address)
        self._learners[address] = node
        self._SyncObj__readonlyNodes.add(node)
        self._SyncObj__raftNextIndex[node] = self._SyncObj__getCurrentLogIndex() + 1  # type: ignore[attr-defined]
        self._SyncObj__raftMatchIndex[node] = 0
        self._SyncObj__transport.addNode(node)
        self._members_sent = 0.0  # tell it the members at the next tick
        log.info("streaming the log to learner %s", address)

    def drop_learner(self, address: str) -> None:
        node = self._learners.pop(address, None)
        if node is None:
            return
        self._SyncObj__readonlyNodes.discard(node)
        self._SyncObj__connectedNodes.discard(node)
        self._SyncObj__raftNextIndex.pop(node, None)
        self._SyncObj__raftMatchIndex.pop(node, None)
        self._SyncObj__transport.dropNode(node)
        log.info("no longer streaming the log to learner %s", address)

    def learner_progress(self, address: str) -> tuple[bool, int] | None:
        """(connected, match index) of a learner, None if it is none."""
        node = self._learners.get(address)
        if node is None:
            return None
        return node in self._SyncObj__connectedNodes, self._SyncObj__raftMatchIndex.get(node, 0)

    def membership_in_flight(self) -> bool:
        """A membership entry is in the log but not yet committed."""
        journal = self._SyncObj__raftLog
        last = journal[-1][1]
        commit = self._SyncObj__raftCommitIndex
        first = journal[0][1]
        start = max(commit + 1, first)
        return change_in_flight(journal[i - first][0] for i in range(start, last + 1))

    def membership_view(self) -> dict:
        """Who the members are and how far each has the log (the match index
        is known on the leader only)."""
        me = self._SyncObj__selfNode
        connected = self._SyncObj__connectedNodes
        match = self._SyncObj__raftMatchIndex
        rows = []
        for node in sorted(self._SyncObj__otherNodes, key=lambda n: n.id):
            rows.append({"id": node.id, "voter": True, "connected": node in connected,
                         "match_index": match.get(node)})
        for address, node in sorted(self._learners.items()):
            rows.append({"id": address, "voter": False, "connected": node in connected,
                         "match_index": match.get(node)})
        if me is not None:
            rows.append({"id": me.id, "voter": True, "connected": True, "self": True,
                         "match_index": self._SyncObj__getCurrentLogIndex()})  # type: ignore[attr-defined]
        return {"members": sorted(rows, key=lambda r: r["id"]),
                "commit_index": self._SyncObj__raftCommitIndex,
                "change_in_flight": self.membership_in_flight()}

    # ---- pysyncobj hooks ----

    def _SyncObj__doChangeCluster(self, request: Any, reverse: bool = False) -> bool:  # noqa: N802
        changed = self._change_members(request, reverse)
        # on disk before this replica acknowledges the entry (the ack goes at
        # the end of the tick's poll): once the change commits, a majority
        # restarts with it, whatever the --peer flags say. The next tick would
        # be too late: pysyncobj re-applies an entry from the journal only
        # when it is committed again, which a lone restarted replica can't see.
        self._persist_members()
        return changed

    def _change_members(self, request: Any, reverse: bool) -> bool:
        kind, node_id = request[0], request[1]
        adding = (kind == "add") != reverse
        learner = self._learners.pop(node_id, None) if adding else None
        if learner is not None:
            # the learner becomes a member in place: same connection, progress kept
            self._SyncObj__readonlyNodes.discard(learner)
            self._SyncObj__otherNodes.add(learner)
            self._SyncObj__lastResponseTime[learner] = time.monotonic()
            log.info("learner %s is now a member", node_id)
            return True
        return bool(SyncObj._SyncObj__doChangeCluster(self, request, reverse))

    def _on_members_message(self, node: Any, message: dict) -> None:
        """A replica not yet a member learns the members from the leader that
        streams it the log (its own ``--peer`` flags may be out of date)."""
        members = message.get("members")
        me = self._SyncObj__selfNode
        if (node != self._SyncObj__raftLeader or me is None or not isinstance(members, list)
                or me.id in members):
            return
        others = sorted(str(m) for m in members)
        if others != sorted(n.id for n in self._SyncObj__otherNodes):
            log.info("the leader says the members are %s", ", ".join(others))
            self._SyncObj__updateClusterConfiguration(others)

    def _SyncObj__updateClusterConfiguration(self, nodes: list) -> None:  # noqa: N802
        # also how a replica takes the members from a snapshot it loads
        self._members_dirty = True
        SyncObj._SyncObj__updateClusterConfiguration(self, nodes)
