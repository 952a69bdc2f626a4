"""The pysyncobj side: one replicated method that hands each committed log
entry to the store's apply path, and the Raft settings derived from
StoreConfig. The replicated state is ``StateMachine.state`` alone, so a
snapshot (pysyncobj's full dump) is exactly the MVCC state."""

from __future__ import annotations

import logging
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable
from typing import Any

from .appendcheck import plan_append, rewind_to
from .config import StoreConfig
from .errors import CannotListen
from .journal import DurableJournal
from .learners import MEMBERS_MESSAGE, LearnerMixin
from .mvcc import MVCCState
from .peerguard import GuardedTransport
from .prevote import PRE_VOTE, PRE_VOTE_RESPONSE, LogPosition, PreVoteRound, grant, response
from .pysyncobj_import import (
    FAIL_REASON,
    SyncObj,
    SyncObjConf,
    SyncObjConsumer,
    SyncObjException,
    pysyncobj_pickle,
    replicated,
)

log = logging.getLogger(__name__)

FOLLOWER, CANDIDATE, LEADER = 0, 1, 2  # pysyncobj's _RAFT_STATE
# Sent by a replica that is not the leader to its peers, a few times per
# connection timeout: pysyncobj's followers send each other nothing, so a
# connection between two followers that died in a partition went unnoticed
# until the kernel retransmitted its FIN after the heal (seconds), and the
# cut-off replica, waiting for that peer to reconnect, rejoined late.
# pysyncobj drops a connection that read nothing for the connection timeout
# when it sends on it; with these, every live connection reads something.
KEEPALIVE = "keepalive"
# How long a leader may keep a new commit index from followers that wait for
# none of its entries: any append_entries (the next entry, a heartbeat)
# carries it sooner. pysyncobj sends one at once after every apply, to every
# follower, and each is answered: with one writer that doubled the Raft
# messages (and their encryption) per write on all three masters.
COMMIT_NOTIFY_DELAY = 0.01


class StateMachine(SyncObjConsumer):
    def __init__(self, apply: Callable[[dict], Any],
                 on_restore: Callable[[MVCCState], None]) -> None:
        # attributes set before SyncObjConsumer.__init__ are not replicated
        self._apply_fn = apply
        self._on_restore = on_restore
        super().__init__()
        self.state = MVCCState()

    @replicated
    def apply(self, command: dict) -> Any:
        return self._apply_fn(command)

    def _deserialize(self, data: dict) -> None:
        # a snapshot replaced our state (restart, or the leader sent a full dump)
        super()._deserialize(data)
        self._on_restore(self.state)


class PipelinedSyncObj(LearnerMixin, SyncObj):
    """SyncObj whose leader never moves a follower's next index backwards on a
    late success reply.

    With entries sent as soon as they are proposed, several append-entries are
    in flight per follower. pysyncobj sets next index from every success reply,
    so a reply to an older message rewinds it; the leader then resends entries
    the follower already holds, and the follower truncates and rewrites its log
    from there ("truncating already-applied log entries"). A follower only
    replies success for entries it has, and TCP keeps order, so keeping the
    higher next index is safe; a failed (reset) reply still rewinds it.

    As a follower it handles append_entries by Raft's rule (appendcheck.py):
    a late or re-sent message no longer truncates entries that match.

    With ``fsync`` (the default) its file journal is a ``DurableJournal``:
    pysyncobj assigns the journal it creates to ``__raftLog``, and this
    class's property of that (mangled) name wraps it on assignment, before
    the Raft thread starts."""

    def __init__(self, *args: Any, fsync: bool = True, data_dir: str | None = None,
                 **kwargs: Any) -> None:
        self._fsync = fsync
        self._init_learners(data_dir)  # membership change (learners.py)
        self._journal: Any = None
        self._defer_append = self._append_wanted = False
        # acknowledgements (next_node_idx) held until the end of the tick's poll
        self._acks: list[tuple[Any, bool, int, bool]] = []
        # while an append_entries is handled: the highest index it vouches for
        self._ack_cap: int | None = None
        self._tick_started = time.monotonic()
        # pre-vote (prevote.py): the round this replica runs, whether it won
        # (the real election starts at the next tick), when a leader was last heard
        self._pre_vote: PreVoteRound | None = None
        self._pre_vote_won = False
        self._leader_contact = float("-inf")
        self._keepalive_due = 0.0
        # as leader: followers that forwarded commands, with the last log index
        # that may hold one (they hear of its commit at once); when the others
        # are told of the latest commit at the latest (COMMIT_NOTIFY_DELAY)
        self._forwarded: set[Any] = set()
        self._awaiting: dict[Any, int] = {}
        self._notify_due: float | None = None
        self._stall = float("inf")  # the Raft thread starts ticking within __init__
        # the wake-up pipe (_applyCommand): a byte is in it that no tick has
        # answered yet; the Raft thread's id; its tick's command check is ahead
        self._wake_pending = False
        self._raft_thread: int | None = None
        self._check_ahead = False
        kwargs.setdefault("transportClass", GuardedTransport)  # bounded frames (peerguard.py)
        super().__init__(*args, **kwargs)
        # a tick longer than this was a stall (a slow disk sync, the GIL)
        self._stall = self._SyncObj__conf.raftMinTimeout / 4
        # the last step of every tick, after new entries went out, before the
        # poll: the leader's own disk write overlaps its followers'
        self.addOnTickCallback(self._sync_journal)

    def _applyCommand(self, command: Any, callback: Any,  # noqa: N802 - pysyncobj's name
                      commandType: int | None = None) -> None:  # noqa: N803
        # pysyncobj writes a byte to the Raft thread's wake-up pipe per command:
        # with many writers, a syscall (and a GIL hand-off) each, where one byte
        # wakes the thread for all of them. None is needed for a command the Raft
        # thread proposes itself before its tick's command check (a group-commit
        # completion proposing the next batch): that check takes it.
        queue = self._SyncObj__commandsQueue
        try:
            queue.put_nowait((command, callback) if commandType is None
                             else (bytes([commandType]) + command, callback))
        except queue_module.Full:
            self._SyncObj__callErrCallback(FAIL_REASON.QUEUE_FULL, callback)
            return
        if self._wake_pending or (self._check_ahead
                                  and threading.get_ident() == self._raft_thread):
            return
        self._wake_pending = True
        self._SyncObj__pipeNotifier.notify()

    def _checkCommandsToApply(self) -> None:  # noqa: N802 - pysyncobj's name
        # every command queued before this point is taken below; one queued
        # after it writes a new wake-up byte
        self._wake_pending = self._check_ahead = False
        # With appendEntriesUseBatch off, pysyncobj sends every entry in its own
        # message as soon as it is added. Entries added in one pass (the
        # leader's own batch and those followers forwarded) now leave together:
        # one message per follower, so one disk sync there instead of one each.
        self._defer_append, self._append_wanted = True, False
        try:
            super()._checkCommandsToApply()
        finally:
            self._defer_append = False
        if self._forwarded:
            last = self._SyncObj__getCurrentLogIndex()
            for node in self._forwarded:
                self._awaiting[node] = max(self._awaiting.get(node, 0), last)
            self._forwarded.clear()
        if self._append_wanted:
            self._send_append_entries()
            if not self._SyncObj__otherNodes:
                # A lone replica commits at its next tick, and with no reply
                # to wake its poll that tick came a whole tick period (50 ms)
                # later: wake it now.
                notifier = getattr(self, "_SyncObj__pipeNotifier", None)
                if notifier is not None:
                    notifier.notify()

    def _SyncObj__sendAppendEntries(self) -> None:  # noqa: N802 - pysyncobj's name
        if self._defer_append:
            self._append_wanted = True
            return
        self._send_append_entries()

    def _send_append_entries(self) -> None:
        """Every follower gets what it lacks, and the commit index."""
        self._notify_due = None
        SyncObj._SyncObj__sendAppendEntries(self)

    def _SyncObj__applyLogEntries(self) -> bool:  # noqa: N802 - pysyncobj's name
        # pysyncobj's answer means "entries were applied: tell every follower
        # the commit now". Only followers waiting for one of the entries
        # (their writes, their read barriers) are told at once; the others
        # within COMMIT_NOTIFY_DELAY, if no append_entries told them first.
        if not SyncObj._SyncObj__applyLogEntries(self):
            return False
        if self._SyncObj__raftState != LEADER or not self._SyncObj__otherNodes:
            return False
        commit = self._SyncObj__raftCommitIndex
        ready = [node for node, index in self._awaiting.items() if index <= commit]
        for node in ready:
            del self._awaiting[node]
        if ready:
            self._send_append_entries()
        elif self._notify_due is None:
            self._notify_due = time.monotonic() + COMMIT_NOTIFY_DELAY
        return False

    def _commit_notify_tick(self) -> float | None:
        """Send a commit notification that is due; the seconds until the
        next one (or until a commit may make one due), else None."""
        if self._SyncObj__raftState != LEADER:
            self._notify_due = None
            self._awaiting.clear()
            return None
        now = time.monotonic()
        if self._notify_due is not None and now >= self._notify_due:
            self._send_append_entries()
        if self._notify_due is not None:
            return self._notify_due - now
        if self._SyncObj__raftCommitIndex < self._SyncObj__getCurrentLogIndex():
            return COMMIT_NOTIFY_DELAY  # entries in flight: their commit comes in this tick
        return None

    def _sync_journal(self) -> None:
        if isinstance(self._journal, DurableJournal):
            self._journal.sync()

    def _onTick(self, timeToWait: float = 0.0) -> None:  # noqa: N803 - pysyncobj's name
        self._raft_thread, self._check_ahead = threading.get_ident(), True
        started, self._tick_started = self._tick_started, time.monotonic()
        if self._tick_started - started > self._stall:
            # The last tick stalled. pysyncobj checks the election deadline (a
            # follower) and the replies of a quorum (the leader) before it
            # reads its sockets: read what the peers sent meanwhile first, or
            # this replica's own stall looks like the others' silence.
            self._poller.poll(0)
            self._send_acks()
        # the leader counts itself toward a commit early in the tick: only
        # entries on its own disk may count
        self._sync_journal()
        self._pre_vote_tick()
        self._keepalive_tick()
        self._learners_tick(self._SyncObj__raftState == LEADER)
        until_notify = self._commit_notify_tick()
        if until_notify is not None:  # the tick's poll must not outlast a due notification
            timeToWait = min(timeToWait, max(0.0, until_notify))  # noqa: N806
        try:
            super()._onTick(timeToWait)
        finally:
            self._send_acks()

    def _keepalive_tick(self) -> None:
        now = time.monotonic()
        if self._SyncObj__raftState == LEADER or now < self._keepalive_due:
            return  # the leader's heartbeats and their answers keep its connections
        self._keepalive_due = now + self._SyncObj__conf.connectionTimeout / 4
        for node in self._SyncObj__otherNodes:
            self._SyncObj__transport.send(node, {"type": KEEPALIVE})

    # ---- pre-vote (prevote.py) ----

    def _log_position(self) -> LogPosition:
        return LogPosition(self._SyncObj__getCurrentLogIndex(), self._SyncObj__getCurrentLogTerm())

    def _pre_vote_tick(self) -> None:
        """Runs before pysyncobj's tick, which starts an election once the
        election deadline passed: a pre-vote round goes first, and the
        deadline moves on unless this replica won one."""
        now = time.monotonic()
        if self._SyncObj__raftState == LEADER:
            self._leader_contact = now
            return
        deadline: float = self._SyncObj__raftElectionDeadline  # type: ignore[has-type]
        if (self._SyncObj__selfNode is None or deadline >= now
                or self._SyncObj__transferInProgress):
            return  # a transfer's TimeoutNow comes from the leader: no pre-vote (§3.10)
        if self._SyncObj__raftLeader is not None:
            # no word from the leader for an election timeout: it is gone (so a
            # master cut off from every peer knows it has no leader)
            self._SyncObj__raftLeader = None
            self._SyncObj__onLeaderChanged()
        if self._pre_vote_won:
            self._pre_vote_won = False
            return  # pysyncobj's tick runs the real election now
        if not self._SyncObj__connectedToAnyone():
            return  # pysyncobj would not stand either
        self._SyncObj__raftElectionDeadline = now + self._SyncObj__generateRaftTimeout()
        others = self._SyncObj__otherNodes
        self._pre_vote = PreVoteRound(self._SyncObj__raftCurrentTerm + 1, len(others) + 1)
        if self._pre_vote.won():  # a lone replica
            self._won_pre_vote()
            return
        request = self._pre_vote.request(self._log_position())
        for node in others:
            self._SyncObj__transport.send(node, request)

    def _won_pre_vote(self) -> None:
        self._pre_vote, self._pre_vote_won = None, True
        self._SyncObj__raftElectionDeadline = 0
        notifier = getattr(self, "_SyncObj__pipeNotifier", None)
        if notifier is not None:
            notifier.notify()  # the next tick stands at once

    def _on_pre_vote(self, node: Any, message: dict) -> None:
        if message["type"] == PRE_VOTE:
            granted = grant(
                term=message["term"],
                candidate_log=LogPosition(message["last_log_index"], message["last_log_term"]),
                current_term=self._SyncObj__raftCurrentTerm, own_log=self._log_position(),
                is_leader=self._SyncObj__raftState == LEADER,
                since_leader_contact=time.monotonic() - self._leader_contact,
                min_election_timeout=self._SyncObj__conf.raftMinTimeout)
            self._SyncObj__transport.send(node, response(message, granted))
            return
        round_ = self._pre_vote
        if (round_ is not None and message.get("granted") and message.get("term") == round_.term
                and self._SyncObj__raftState != LEADER):
            round_.granted.add(node.id)
            if round_.won():
                self._won_pre_vote()

    def _SyncObj__sendNextNodeIdx(self, node: Any, reset: bool = False,  # noqa: N802
                                  nextNodeIdx: Any = None,  # noqa: N803
                                  success: bool = False) -> None:
        # A follower acknowledges entries only once they are on its disk. The
        # acknowledgements of every message read in one poll wait for its end
        # and share one sync (not one each, all on this thread, which also
        # keeps the election timer and the heartbeats).
        if nextNodeIdx is None:
            nextNodeIdx = self._SyncObj__getCurrentLogIndex() + 1
        if reset and not success:
            # the message could not be appended: ask for the entry after the
            # commit index, whatever the reason (appendcheck.rewind_to)
            committed = max(self._SyncObj__raftCommitIndex, self._SyncObj__raftLastApplied)
            nextNodeIdx = rewind_to(nextNodeIdx, committed)
        if success and self._ack_cap is not None:
            nextNodeIdx = min(nextNodeIdx, self._ack_cap)
        self._acks.append((node, reset, nextNodeIdx, success))

    def _send_acks(self) -> None:
        if not self._acks:
            return
        self._sync_journal()
        acks, self._acks = self._acks, []
        for node, reset, next_index, success in acks:
            SyncObj._SyncObj__sendNextNodeIdx(self, node, reset=reset, nextNodeIdx=next_index,
                                              success=success)

    @property
    def _SyncObj__raftLog(self) -> Any:  # noqa: N802 - pysyncobj's private name
        return self._journal

    @_SyncObj__raftLog.setter
    def _SyncObj__raftLog(self, journal: Any) -> None:  # noqa: N802
        conf = self._SyncObj__conf
        if self._fsync and conf.journalFile and not isinstance(journal, DurableJournal):
            journal = DurableJournal(journal, conf.journalFile, conf.fullDumpFile)
        self._journal = journal

    def _SyncObj__onMessageReceived(self, node: Any, message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == KEEPALIVE:
            return  # its bytes were read: that was all it was for
        if isinstance(message, dict) and message.get("type") == MEMBERS_MESSAGE:
            self._on_members_message(node, message)
            return
        if (isinstance(message, dict) and message.get("type") == "apply_command"
                and self._SyncObj__raftState == LEADER):
            self._forwarded.add(node)  # appended at the next _checkCommandsToApply
        if isinstance(message, dict) and message.get("type") in (PRE_VOTE, PRE_VOTE_RESPONSE):
            self._on_pre_vote(node, message)
            return
        if isinstance(message, dict) and message.get("type") == "append_entries":
            if message.get("term", -1) >= self._SyncObj__raftCurrentTerm:
                # a leader of this term or a newer one: no pre-vote from here
                self._leader_contact = time.monotonic()
                self._pre_vote, self._pre_vote_won = None, False
            checked = self._checked_append(message)
            if checked is None:
                return
            try:
                SyncObj._SyncObj__onMessageReceived(self, node, checked)
            finally:
                self._ack_cap = None
            return
        if (isinstance(message, dict) and message.get("type") == "next_node_idx"
                and message.get("success") and not message.get("reset")):
            next_index = self._SyncObj__raftNextIndex
            before = next_index.get(node)
            SyncObj._SyncObj__onMessageReceived(self, node, message)
            after = next_index.get(node)
            if before is not None and after is not None and after < before:
                next_index[node] = before
            return
        SyncObj._SyncObj__onMessageReceived(self, node, message)

    def _checked_append(self, message: dict) -> dict | None:
        """The append_entries pysyncobj should handle instead of ``message``
        (appendcheck.py: never truncate entries that match), or None to ignore
        one that contradicts committed entries."""
        if message.get("term", -1) < self._SyncObj__raftCurrentTerm or "prevLogIdx" not in message:
            return message  # pysyncobj ignores a stale term; a snapshot has no entries
        transmission = message.get("transmission")
        if transmission == "finish":
            # the last piece of one large entry: assemble it here, so it is
            # checked like any other (pysyncobj does the same unpickle)
            buffered: bytes = self._SyncObj__recvTransmission  # type: ignore[has-type]
            try:
                entry = pysyncobj_pickle.loads(buffered + message["data"])
            except Exception:  # noqa: BLE001 - truncated: not the last piece after all
                # pysyncobj's leader says "finish" once a piece reaches the length of
                # the entry's command, not of its (longer) pickle: one more follows
                return {**message, "transmission": "process"}
            self._SyncObj__recvTransmission = ""
            message = {k: v for k, v in message.items() if k not in ("transmission", "data")}
            message["entries"] = [entry]
        elif transmission is not None:
            return message  # a piece is only buffered
        journal = self._SyncObj__raftLog
        first, last = journal[0][1], journal[-1][1]

        def term_at(index: int) -> int | None:
            return journal[index - first][2] if first <= index <= last else None

        committed = max(self._SyncObj__raftCommitIndex, self._SyncObj__raftLastApplied)
        plan = plan_append(term_at, last, committed, message["prevLogIdx"],
                           message["prevLogTerm"], message.get("entries", []))
        if plan.action == "pass":
            return message
        if plan.action == "reject":
            log.error("ignored append_entries (term %s) that contradicts committed entry %d "
                      "(commit index %d)", message["term"], plan.conflict, committed)
            return None
        self._ack_cap = plan.last_new + 1
        return {**message, "prevLogIdx": plan.prev_idx, "prevLogTerm": plan.prev_term,
                "entries": list(plan.entries),
                "commit_index": min(message["commit_index"], plan.last_new)}


BIND_RETRY_SECONDS = 0.25
BIND_ATTEMPTS = 20  # 5 s: time for a process that just ended to let go of the port


def wait_bound(raft: SyncObj, addr: str) -> None:
    """Return once ``raft`` listens on ``addr``; when it could not within its
    bind attempts, destroy it and raise ``CannotListen``."""
    try:
        raft.waitBinded()
    except SyncObjException:
        raft.destroy()
        raise CannotListen(f"cannot listen for Raft peers on {addr}: the address is in use "
                           f"or not one of this machine's") from None


def raft_conf(cfg: StoreConfig, on_state_changed: Callable[[int, int], None]) -> SyncObjConf:
    journal = dump = None
    if cfg.data_dir:
        os.makedirs(cfg.data_dir, mode=0o700, exist_ok=True)
        os.chmod(cfg.data_dir, 0o700)  # the journal holds every value: owner only
        journal = os.path.join(cfg.data_dir, "raft.journal")
        dump = os.path.join(cfg.data_dir, "raft.snapshot")
    return SyncObjConf(
        password=cfg.secret,
        # the address given, never pysyncobj's default of every interface
        bindAddress=cfg.bind_addr or cfg.self_addr,
        journalFile=journal,
        fullDumpFile=dump,
        # send each entry at once instead of waiting for the next batch tick:
        # the tick thread is woken through a pipe (group commit does the batching)
        appendEntriesUseBatch=False,
        appendEntriesPeriod=cfg.heartbeat_period,
        raftMinTimeout=cfg.election_timeout_min,
        raftMaxTimeout=cfg.election_timeout_max,
        connectionTimeout=max(cfg.connection_timeout, cfg.election_timeout_max),
        connectionRetryTime=0.2,
        # check-quorum: a leader that cannot reach a majority steps down within
        # an election timeout instead of reporting itself leader meanwhile
        leaderFallbackTimeout=min(cfg.leader_fallback_timeout, cfg.election_timeout_max),
        logCompactionMinEntries=cfg.snapshot_entries,
        logCompactionMinTime=cfg.snapshot_seconds,
        logCompactionSplit=False,
        useFork=True,
        commandsWaitLeader=True,
        # one server at a time, learners first (membership.py, learners.py)
        dynamicMembershipChange=True,
        onStateChanged=on_state_changed,
        # a Raft port held by another process is a start-up error, not a wait:
        # pysyncobj retries the bind forever by default while its peers reach
        # whatever holds the port
        bindRetryTime=BIND_RETRY_SECONDS,
        maxBindRetries=BIND_ATTEMPTS,
    )
