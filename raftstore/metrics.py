"""Prometheus metrics of the store's write path (process-wide, prometheus_client's
default registry): how long a proposal takes to commit and a journal sync to
reach the disk. The term, role and indexes are read from ``status()`` at
scrape time by whoever serves ``/metrics``."""

from __future__ import annotations

from prometheus_client import Histogram

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

COMMIT_SECONDS = Histogram("raft_commit_duration_seconds",
                           "From proposing a command to its commit and apply on this replica.",
                           buckets=_FAST)
JOURNAL_SYNC_SECONDS = Histogram("raft_journal_sync_duration_seconds",
                                 "One fsync of the Raft journal.", buckets=_FAST)
