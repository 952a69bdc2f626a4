"""What a follower does with an ``append_entries`` message, by Raft's rule.

pysyncobj 0.3.17 truncates a follower's log after ``prevLogIdx`` whenever
the follower holds more entries than that, before it looks at the entries
the message carries. A late message — a heartbeat sent before newer entries,
or an append the leader re-sent after a stale ``reset`` reply — then cuts
entries the follower already acknowledged, committed and applied (pysyncobj
logs "truncating already-applied log entries ... may have diverged"). A
committed entry then lives on fewer replicas than the leader counted, so a
later election can lose it.

Raft (Figure 2, AppendEntries step 3) deletes an existing entry only if it
conflicts with a new one (same index, another term), and keeps everything
after the entries sent. etcd's raft goes further: a conflict at or below the
commit index is a broken invariant, never acted on. ``plan_append`` decides
that from the follower's log; ``PipelinedSyncObj`` rewrites the message so
pysyncobj's own handler does exactly it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Entry = tuple[Any, int, int]  # pysyncobj's (command, index, term)


@dataclass(frozen=True)
class AppendPlan:
    action: str  # "pass": pysyncobj's handling is right; "rewrite"; "reject": ignore it
    prev_idx: int = 0
    prev_term: int = 0
    entries: Sequence[Entry] = ()
    # the highest index this message vouches for: the acknowledgement and the
    # commit index go no further (entries after it may be an old term's)
    last_new: int = 0
    conflict: int = 0  # "reject": the committed index the message contradicts


def plan_append(term_at: Callable[[int], int | None], last_index: int, committed: int,
                prev_idx: int, prev_term: int, entries: Sequence[Entry]) -> AppendPlan:
    """``term_at(i)``: the term of the follower's entry ``i``, None if it holds
    none there; ``committed``: the highest index known committed (or applied)."""
    if term_at(prev_idx) != prev_term or prev_idx == last_index:
        # a mismatch: pysyncobj answers reset without touching the log; at the
        # end of the log: nothing after prevLogIdx to truncate
        return AppendPlan("pass")
    last_new = prev_idx + len(entries)
    for k, (_cmd, idx, term) in enumerate(entries):
        held = term_at(idx)
        if held == term:
            continue
        if held is not None and idx <= committed:
            return AppendPlan("reject", conflict=idx)
        # truncate from the first conflict (pysyncobj does, after prevLogIdx),
        # or append after the last held entry (nothing to truncate)
        return AppendPlan("rewrite", idx - 1, term_at(idx - 1) or 0, entries[k:], last_new)
    # every entry is held: keep the log, acknowledge only what the message vouches for
    return AppendPlan("rewrite", last_index, term_at(last_index) or 0, (), last_new)


def rewind_to(requested: int, committed: int) -> int:
    """The next index a follower asks the leader for when it cannot append a
    message: ``requested`` is what pysyncobj would answer — ``prevLogIdx``
    when that entry's term differs, its own last index + 1 when it holds no
    entry at ``prevLogIdx``.

    Those two answers fought: a leader that just won sends a burst of
    pipelined messages, and a follower whose log ends in entries of an older
    term (an old leader coming back) answers the first with ``prevLogIdx``
    and all the others with its last index + 1. The leader takes the last
    answer, sends from there again, and the same burst repeats: an old leader
    back from a 15 s partition was still not caught up after 18 s. pysyncobj
    also stepped back one entry per round trip. Everything up to ``committed``
    matches the leader's log (Raft's Log Matching), so the follower asks for
    the entry after it, in every case: every answer is the same, one round
    trip, and the few matching entries resent are kept (``plan_append``)."""
    return min(requested, committed + 1)
