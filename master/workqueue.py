"""A rate-limited work queue of string keys, in the shape of client-go's workqueue.

Invariants (the ones controllers rely on):
- a key is in the queue at most once, however often it is added;
- a key being processed is never handed to a second worker: an ``add``
  while it is processing marks it dirty and it is queued again on ``done``;
- ``add_rate_limited`` delays a key with per-key exponential back-off until
  ``forget`` resets it (after a successful reconcile);
- with ``throttle``, a key is handed out again no sooner than ``throttle``
  seconds after its last hand-out was done: adds meanwhile fold into one
  hand-out at the end of that time (a key quiet for longer goes at once).
  A controller whose every sync counts all of a workload's pods then syncs
  a 3,000-pod ReplicaSet a few times a second under a storm of pod changes,
  instead of back to back.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import deque
from collections.abc import Callable

from coxapi.supervisor import StopEvent


class WorkQueue:
    def __init__(self, base_delay: float = 0.005, max_delay: float = 30.0,
                 clock: Callable[[], float] = time.monotonic, throttle: float = 0.0) -> None:
        self._cond = threading.Condition()
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._processing: set[str] = set()
        self._dirty: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._seq = 0
        self._failures: dict[str, int] = {}
        self._base = base_delay
        self._max = max_delay
        self._clock = clock
        self._shutdown = False
        self._throttle = throttle
        # keys done within the throttle: not to be handed out before this time
        self._cooling: dict[str, float] = {}
        self._held: set[str] = set()  # cooling keys added meanwhile (in _delayed)

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue)

    def add(self, key: str) -> None:
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: str) -> None:
        if self._shutdown:
            return
        if key in self._processing:
            self._dirty.add(key)
            return
        if key in self._queued or key in self._held:
            return
        until = self._cooling.get(key)
        if until is not None:
            if until > self._clock():
                self._held.add(key)
                self._seq += 1
                heapq.heappush(self._delayed, (until, self._seq, key))
                self._cond.notify()
                return
            del self._cooling[key]
        self._queued.add(key)
        self._queue.append(key)
        self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        if delay <= 0:
            self.add(key)
            return
        with self._cond:
            if self._shutdown:
                return
            self._seq += 1
            heapq.heappush(self._delayed, (self._clock() + delay, self._seq, key))
            self._cond.notify()

    def add_rate_limited(self, key: str) -> float:
        """Requeue after this key's next back-off delay; returns the delay."""
        with self._cond:
            n = self._failures.get(key, 0)
            self._failures[key] = n + 1
        delay = min(self._max, self._base * (2 ** min(n, 30)))
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        with self._cond:
            self._failures.pop(key, None)

    def failures(self, key: str) -> int:
        with self._cond:
            return self._failures.get(key, 0)

    def _promote_due_locked(self) -> float | None:
        """Move due delayed keys into the queue; return seconds to the next one."""
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            if key in self._held and self._cooling.get(key, now) > now:
                continue  # an earlier add_after's entry: the key waits for its throttle
            self._held.discard(key)
            self._add_locked(key)
        return self._delayed[0][0] - now if self._delayed else None

    def get(self, timeout: float | None = None,
            stop: threading.Event | None = None) -> str | None:
        """The next key (now marked processing), or None on timeout, shutdown
        or ``stop`` set (whoever sets it calls ``wake``)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._shutdown or (stop is not None and stop.is_set()):
                    return None
                wait = self._promote_due_locked()
                if self._queue:
                    key = self._queue.popleft()
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def done(self, key: str) -> None:
        with self._cond:
            self._processing.discard(key)
            if self._throttle > 0:
                now = self._clock()
                self._cooling[key] = now + self._throttle
                if len(self._cooling) > 1024:  # forget the keys whose time is up
                    self._cooling = {k: t for k, t in self._cooling.items() if t > now}
            if key in self._dirty:
                self._dirty.discard(key)
                self._add_locked(key)

    def wake(self) -> None:
        """Wake every blocked ``get`` to look at its stop event again."""
        with self._cond:
            self._cond.notify_all()

    def shutdown(self) -> None:
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()

    def work(self, handle: Callable[[str], object], stop: threading.Event,
             poll: float = 0.1) -> None:
        """A worker: hand keys to ``handle`` one at a time until ``stop`` is set
        or the queue is shut down (a key taken as stop is set is given back
        unhandled). With a ``StopEvent`` (a Supervisor's), an idle worker
        sleeps until a key is due or stop wakes it; with a plain Event it
        looks at the event every ``poll`` seconds. ``handle`` must not raise:
        its caller decides what a failure means for the key."""
        wait: float | None = poll
        if isinstance(stop, StopEvent):
            stop.on_set(self.wake)
            wait = None
        while not stop.is_set():
            key = self.get(timeout=wait, stop=stop)
            if key is None:
                if self._shutdown:
                    return
                continue
            try:
                if not stop.is_set():
                    handle(key)
            finally:
                self.done(key)

    def drain(self, handle: Callable[[str], object], rounds: int = 100_000) -> int:
        """Hand every key queued now (not delayed ones) to ``handle`` on this
        thread; returns how many were handled. Tests and benches drive
        controllers with this instead of worker threads."""
        n = 0
        while n < rounds and len(self):
            key = self.get(timeout=0)
            if key is None:
                break
            try:
                handle(key)
            finally:
                self.done(key)
            n += 1
        return n
