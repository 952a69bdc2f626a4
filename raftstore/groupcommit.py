"""Group commit: concurrent proposals share one Raft entry.

Every caller adds its command to ``pending``; whenever fewer than
``max_inflight`` entries are on their way through the log, everything waiting
(up to ``max_batch`` commands and ``max_bytes`` of keys and values, or one
command alone) is proposed as one entry. A lone writer therefore pays
one round trip, and many writers pay one round trip per batch instead of one
each. Nothing here blocks: proposing only enqueues, and completions arrive on
the Raft thread.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from .commands import command_bytes

# keys and values per entry; an entry holds at most this or one command,
# which bounds the Raft port's frame limit (peerguard.py)
MAX_ENTRY_BYTES = 4 * 1024 * 1024

Propose = Callable[[list[dict], Callable[[Any, int], None]], None]


def command_resource(cmd: dict) -> str:
    """What a command writes, for figures: the resource segment of its (first) key
    (``/registry/pods/...`` -> ``pods``), else its op (``noop`` is a read barrier)."""
    key = cmd.get("k")
    if key is None and cmd.get("op") == "txn":
        ops = cmd.get("s") or cmd.get("f") or ()
        key = ops[0][1] if ops else (cmd["c"][0][0] if cmd.get("c") else None)
    if not isinstance(key, str):
        return str(cmd.get("op"))
    parts = key.split("/", 3)
    return parts[2] if len(parts) > 2 and parts[1] == "registry" else parts[1] if len(parts) > 1 else key


class Pending:
    """One caller's command and, once done, its outcome: ``result`` when the
    command was applied, or ``failure`` (a pysyncobj FAIL_REASON) to retry.

    Completion is a bare lock held until resolved: much cheaper than a
    threading.Event (a Condition per waiter) on the hot path."""

    __slots__ = ("cmd", "size", "_lock", "resolved", "result", "failure", "_on_resolve")

    def __init__(self, cmd: dict) -> None:
        self.cmd = cmd
        self.size = command_bytes(cmd)
        self._lock = threading.Lock()
        self._lock.acquire()
        self.resolved = False
        self.result: Any = None
        self.failure = 0
        self._on_resolve: Callable[[], None] | None = None

    def resolve(self, result: Any, failure: int) -> None:
        if self.resolved:
            return
        self.result, self.failure, self.resolved = result, failure, True
        self._lock.release()
        if (notify := self._on_resolve) is not None:
            notify()

    def on_resolve(self, notify: Callable[[], None]) -> None:
        """Call ``notify`` (from the resolving thread, or now if already
        resolved) once this is resolved; it may be called twice, so it must
        be idempotent (an awaiting event loop's future, set if not done)."""
        self._on_resolve = notify
        if self.resolved:
            notify()

    def wait(self, timeout: float) -> bool:
        """True once resolved (waiting at most ``timeout`` seconds)."""
        if self.resolved:
            return True
        if self._lock.acquire(timeout=max(0.0, timeout)):
            self._lock.release()  # let any other waiter through too
        return self.resolved


class GroupCommit:
    def __init__(self, propose: Propose, max_batch: int = 512, max_inflight: int = 2,
                 stale_after: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 max_bytes: int = MAX_ENTRY_BYTES) -> None:
        self._propose = propose
        self._max_batch = max_batch
        self._max_bytes = max_bytes
        self._max_inflight = max_inflight
        # an entry not answered within this long no longer holds a slot, so a
        # lost callback (leader gone) cannot stall later proposals
        self._stale_after = stale_after
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._inflight: dict[int, float] = {}
        self._ids = itertools.count()
        self.entries = 0  # proposed Raft entries (for figures)
        self.commands = 0
        self.by_resource: Counter[str] = Counter()  # commands by what they write (figures)

    def submit(self, cmd: dict) -> Pending:
        p = Pending(cmd)
        with self._lock:
            self._pending.append(p)
        self.flush()
        return p

    def flush(self) -> None:
        """Propose what is waiting, as long as there is a free slot."""
        while True:
            with self._lock:
                now = self._clock()
                for bid, started in list(self._inflight.items()):
                    if now - started > self._stale_after:
                        del self._inflight[bid]
                if not self._pending or len(self._inflight) >= self._max_inflight:
                    return
                n = self._batch_len()
                batch = self._pending[:n]
                del self._pending[:n]
                bid = next(self._ids)
                self._inflight[bid] = now
                self.entries += 1
                self.commands += len(batch)
                self.by_resource.update(command_resource(p.cmd) for p in batch)
            self._propose([p.cmd for p in batch], self._completion(bid, batch))

    def _batch_len(self) -> int:
        """How many of the pending commands go into the next entry (at least one)."""
        total = 0
        for n, p in enumerate(self._pending[:self._max_batch]):
            total += p.size
            if n and total > self._max_bytes:
                return n
        return min(len(self._pending), self._max_batch)

    def _completion(self, bid: int, batch: list[Pending]) -> Callable[[Any, int], None]:
        def done(results: Any, failure: int) -> None:
            with self._lock:
                self._inflight.pop(bid, None)
            if failure == 0:
                for p, r in zip(batch, results, strict=True):
                    p.resolve(r, 0)
            else:
                for p in batch:
                    p.resolve(None, failure)
            self.flush()
        return done
