"""Writes issued together rather than one after another.

Every write is a Raft commit, so a controller that creates or deletes many
pods is bound by commit latency, not CPU; issued together they share group
commits (Kubernetes' controllers run each slow-start batch in goroutines).

The threads are the process's own pool, kept between calls: a pool made per
call started a thread per write (up to ``MAX_IN_FLIGHT``) and joined them all
after, which cost three to four times the CPU of handing the writes to threads
already running (``python -m tests.bench.parallel_bench``). A call made from
one of the pool's threads runs its items in that thread, one after another,
so a pool thread never waits for the pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
MAX_IN_FLIGHT = 64  # writes in flight at once from one call
POOL_THREADS = 4 * MAX_IN_FLIGHT  # for calls at once (controllers, the event writer)

_local = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def each(fn: Callable[[T], object], items: Iterable[T],
         limit: int = MAX_IN_FLIGHT) -> list[BaseException | None]:
    """``fn`` on every item, up to ``limit`` at a time; the outcomes in order: None, or
    the exception that item raised (every item is attempted whatever the others did)."""
    def attempt(item: T) -> BaseException | None:
        try:
            fn(item)
        except Exception as e:  # noqa: BLE001 - handed back to the caller
            return e
        return None
    return _run(attempt, list(items), limit)


def map_ok(fn: Callable[[T], bool], items: Iterable[T], limit: int = MAX_IN_FLIGHT) -> list[bool]:
    """``fn`` on every item, up to ``limit`` at a time; what each returned, in order
    (the first exception raised, once every item has run)."""
    return _run(fn, list(items), limit)


def _mark_pool_thread() -> None:
    _local.in_pool = True


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="parallel-write",
                                       initializer=_mark_pool_thread)
        return _pool


def _run(fn: Callable[[T], R], todo: list[T], limit: int) -> list[R]:
    if len(todo) <= 1 or getattr(_local, "in_pool", False):
        return [fn(i) for i in todo]
    pool = _shared_pool()
    slots = threading.BoundedSemaphore(max(1, limit))

    def run(item: T) -> R:
        try:
            return fn(item)
        finally:
            slots.release()
    futures: list[Future[R]] = []
    for item in todo:
        slots.acquire()
        futures.append(pool.submit(run, item))
    wait(futures)
    return [f.result() for f in futures]
