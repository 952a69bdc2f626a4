"""Writes issued together (master.controllers.parallel): in order, at most
``limit`` at once per call, on threads kept between calls, and a call from
one of those threads runs in it."""

from __future__ import annotations

import threading
import time

import pytest

from master.controllers import parallel


def test_outcomes_come_in_order_and_a_failure_does_not_stop_the_others():
    ran = []

    def fn(i: int) -> None:
        time.sleep(0.001 * (5 - i))  # the first items finish last
        ran.append(i)
        if i == 2:
            raise ValueError("no quorum")
    outcomes = parallel.each(fn, range(5))
    assert [type(o).__name__ if o else None for o in outcomes] == [
        None, None, "ValueError", None, None]
    assert sorted(ran) == [0, 1, 2, 3, 4]


def test_map_ok_raises_once_every_item_has_run():
    ran = []

    def fn(i: int) -> bool:
        if i == 0:
            raise RuntimeError("boom")
        time.sleep(0.01)
        ran.append(i)
        return True
    with pytest.raises(RuntimeError):
        parallel.map_ok(fn, range(6))
    assert sorted(ran) == [1, 2, 3, 4, 5]


def test_at_most_limit_items_of_one_call_run_at_once():
    lock, now, peak = threading.Lock(), [0], [0]

    def fn(_: int) -> None:
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        time.sleep(0.01)
        with lock:
            now[0] -= 1
    parallel.each(fn, range(20), limit=4)
    assert peak[0] == 4


def test_the_threads_are_kept_between_calls():
    """A pool per call started a thread per item; the kept pool's threads
    serve call after call."""
    threads: set[threading.Thread] = set()
    barrier = threading.Barrier(8)

    def fn(_: int) -> None:
        threads.add(threading.current_thread())
        barrier.wait(10)  # all 8 at once: each call needs 8 threads
    for _ in range(10):
        parallel.each(fn, range(8))
    assert len(threads) <= parallel.POOL_THREADS
    assert len(threads) < 8 * 10 / 2  # most calls found their threads running


def test_a_call_from_a_pool_thread_runs_in_that_thread():
    inner: list[list[threading.Thread]] = []

    def outer(_: int) -> None:
        here = threading.current_thread()
        seen: list[threading.Thread] = []
        parallel.each(lambda i: seen.append(threading.current_thread()), range(3))
        inner.append([here, *seen])
    # every pool thread busy with an outer item: a nested call waiting for
    # one would wait forever
    n = parallel.POOL_THREADS + 1
    parallel.each(outer, range(n), limit=n)
    assert len(inner) == n
    assert all(len(set(ts)) == 1 for ts in inner)
