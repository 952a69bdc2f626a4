"""pysyncobj's file journal, made durable the way Raft requires.

pysyncobj writes its log through an mmap and its term/vote and snapshot
files with plain renames, and never syncs any of them: a log entry a
follower has acknowledged lives only in the page cache. That survives the
loss of a process, not a power cut, and with every replica on one machine
(the local cluster) a single power cut could then lose an acknowledged write.

``DurableJournal`` wraps the journal and remembers what is not yet on disk;
``sync()`` writes it out (one fdatasync for everything since the last one,
as etcd syncs its WAL once per batch of entries). ``PipelinedSyncObj`` calls
it at the points the Raft paper names: before a follower acknowledges
entries, and on the leader after it has sent new entries out (so its own
write overlaps the followers') and before it counts itself toward a commit.
Term and vote are synced before a vote is cast; a snapshot before the log
entries it replaces are dropped (by compaction, or by a follower that
installs the leader's snapshot and clears its log).
"""

from __future__ import annotations

import os
from typing import Any

from .metrics import JOURNAL_SYNC_SECONDS


def fsync_path(path: str) -> None:
    """fsync a file and the directory that names it (so a rename is durable)."""
    for target in (path, os.path.dirname(path) or "."):
        try:
            fd = os.open(target, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class DurableJournal:
    def __init__(self, inner: Any, journal_path: str, dump_path: str | None) -> None:
        self._inner = inner
        self._meta_path = journal_path + ".meta"
        self._dump_path = dump_path
        # the journal file is mapped, never replaced: one descriptor serves
        # fdatasync for its whole life (mapped writes are in its page cache)
        self._fd = os.open(journal_path, os.O_RDONLY)
        self.syncs = 0
        last = inner[-1][1] if len(inner) else 0
        self._added = last  # the Raft index of the last entry written
        self.synced_index = last  # ... and of the last one known to be on disk
        self._changed = False  # a truncation not yet synced

    @property
    def dirty(self) -> bool:
        return self._added != self.synced_index or self._changed

    def sync(self) -> None:
        """Make every change so far durable (a no-op when there is none)."""
        if not self.dirty:
            return
        with JOURNAL_SYNC_SECONDS.time():
            os.fdatasync(self._fd)
        self.syncs += 1
        self.synced_index, self._changed = self._added, False

    # ---- the log: changes are remembered until ``sync`` ----

    def add(self, command: bytes, idx: int, term: int) -> None:
        self._inner.add(command, idx, term)
        self._added = idx

    def deleteEntriesFrom(self, entry_from: int) -> None:  # noqa: N802 - pysyncobj's name
        self._inner.deleteEntriesFrom(entry_from)
        self._changed = True
        self._added = self._inner[-1][1] if len(self._inner) else 0
        self.synced_index = min(self.synced_index, self._added)

    def deleteEntriesTo(self, entry_to: int) -> None:  # noqa: N802 - pysyncobj's name
        # log compaction: the snapshot that replaces these entries first
        self._sync_snapshot()
        self._inner.deleteEntriesTo(entry_to)
        self._changed = True

    def clear(self) -> None:
        # a follower installing the leader's snapshot: pysyncobj has just
        # renamed it into place unsynced, and the whole log is dropped for it
        self._sync_snapshot()
        self._inner.clear()
        self._changed = True
        self._added = self.synced_index = 0

    def _sync_snapshot(self) -> None:
        if self._dump_path:
            fsync_path(self._dump_path)

    def setCurrentTerm(self, term: int, voted_for: Any) -> None:  # noqa: N802 - pysyncobj's name
        self._inner.setCurrentTerm(term, voted_for)
        fsync_path(self._meta_path)

    def _destroy(self) -> None:
        self.sync()
        self._inner._destroy()
        os.close(self._fd)

    # ---- everything else as pysyncobj's journal does it ----

    def __getitem__(self, item: Any) -> Any:
        return self._inner[item]

    def __len__(self) -> int:
        return len(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
