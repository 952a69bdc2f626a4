"""DurableJournal: pysyncobj's file journal with the syncs Raft needs."""

from __future__ import annotations

import raftstore.journal as journal_mod
from raftstore.journal import DurableJournal
from raftstore.pysyncobj_import import pysyncobj_journal


def make(tmp_path):
    path = str(tmp_path / "raft.journal")
    return DurableJournal(pysyncobj_journal.FileJournal(path), path, str(tmp_path / "raft.snapshot")), path


def test_entries_are_synced_together_and_read_back_after_reopening(tmp_path):
    j, path = make(tmp_path)
    for i in range(1, 6):
        j.add(b"cmd%d" % i, i, 1)
    assert j.dirty and j.synced_index == 0 and j.syncs == 0
    j.sync()
    assert not j.dirty and j.synced_index == 5 and j.syncs == 1
    j.sync()  # nothing new: no second fdatasync
    assert j.syncs == 1
    j.add(b"cmd6", 6, 2)
    j._destroy()  # a clean stop syncs what is left
    again = pysyncobj_journal.FileJournal(path)
    assert [again[i] for i in range(6)] == [
        *((b"cmd%d" % i, i, 1) for i in range(1, 6)), (b"cmd6", 6, 2)]


def test_a_reopened_journal_starts_clean(tmp_path):
    j, path = make(tmp_path)
    j.add(b"x", 1, 1)
    j._destroy()
    again = DurableJournal(pysyncobj_journal.FileJournal(path), path, None)
    assert not again.dirty and again.synced_index == 1
    again._destroy()


def test_truncation_and_compaction_are_synced_and_the_snapshot_first(tmp_path, monkeypatch):
    synced_paths = []
    monkeypatch.setattr(journal_mod, "fsync_path", synced_paths.append)
    j, _ = make(tmp_path)
    for i in range(1, 11):
        j.add(b"x", i, 1)
    j.sync()
    j.deleteEntriesFrom(8)  # a follower drops a conflicting tail
    assert len(j) == 8 and j.dirty and j.synced_index == 8
    j.sync()
    assert j.syncs == 2 and not j.dirty
    j.deleteEntriesTo(5)  # log compaction after a snapshot
    assert len(j) == 3 and j[0][1] == 6 and j.dirty
    assert synced_paths == [str(tmp_path / "raft.snapshot")]
    j.sync()
    assert j.syncs == 3
    j._destroy()


def test_term_and_vote_are_synced_before_they_count(tmp_path, monkeypatch):
    synced_paths = []
    monkeypatch.setattr(journal_mod, "fsync_path", synced_paths.append)
    j, path = make(tmp_path)
    j.setCurrentTerm(7, "127.0.0.1:7001")
    assert synced_paths == [path + ".meta"]
    assert pysyncobj_journal.FileJournal(path).getCurrentTerm() == 7
    j._destroy()



def test_an_installed_snapshot_is_synced_before_the_log_is_cleared(tmp_path, monkeypatch):
    # A follower installing the leader's snapshot: pysyncobj renames it into
    # place unsynced, then clears the journal; a power cut after the journal
    # is synced must not leave an empty journal without the snapshot.
    order = []
    real_fsync = journal_mod.os.fsync

    def fsync(fd):
        order.append(("fsync", journal_mod.os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    monkeypatch.setattr(journal_mod.os, "fsync", fsync)
    j, _ = make(tmp_path)
    for i in range(1, 4):
        j.add(b"x", i, 1)
    j.sync()
    (tmp_path / "raft.snapshot").write_bytes(b"snapshot")
    inner_clear = j._inner.clear
    monkeypatch.setattr(j._inner, "clear", lambda: (order.append(("clear",)), inner_clear()))
    j.clear()
    assert order == [("fsync", str(tmp_path / "raft.snapshot")), ("fsync", str(tmp_path)),
                     ("clear",)]
    assert len(j) == 0 and j.dirty
    j._destroy()
