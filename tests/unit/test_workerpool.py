"""master.workerpool: blocking calls for the event loop, on a bounded set of threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from master.workerpool import WorkerPool


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_a_call_returns_its_result_from_a_worker_thread():
    pool = WorkerPool(2, "test")

    async def main():
        return await pool.run(lambda a, b: (a + b, threading.current_thread().name), 2, 3)

    try:
        total, name = run(main())
        assert total == 5
        assert name == "test_0"
    finally:
        pool.shutdown(wait=True)


def test_a_call_raises_what_the_function_raised():
    pool = WorkerPool(1, "test")

    def fails():
        raise KeyError("nope")

    async def main():
        with pytest.raises(KeyError, match="nope"):
            await pool.run(fails)
        return await pool.run(lambda: "still serving")

    try:
        assert run(main()) == "still serving"
    finally:
        pool.shutdown(wait=True)


def test_threads_start_only_as_calls_find_none_idle():
    pool = WorkerPool(8, "test")

    async def main():
        for _ in range(20):  # one after another: one thread serves them all
            await pool.run(lambda: None)

    try:
        run(main())
        assert pool.threads == 1
    finally:
        pool.shutdown(wait=True)


def test_calls_beyond_the_threads_wait_for_one_to_come_free():
    pool = WorkerPool(2, "test")
    gate = threading.Event()
    started = threading.Semaphore(0)

    def blocked(i):
        started.release()
        gate.wait(10)
        return i

    async def main():
        calls = [asyncio.ensure_future(pool.run(blocked, i)) for i in range(5)]
        loop = asyncio.get_running_loop()
        # both threads busy, the other three calls queued
        assert await loop.run_in_executor(None, started.acquire, True, 5)
        assert await loop.run_in_executor(None, started.acquire, True, 5)
        assert not await loop.run_in_executor(None, started.acquire, True, 0.2)
        gate.set()
        return await asyncio.gather(*calls)

    try:
        assert run(main()) == [0, 1, 2, 3, 4]
        assert pool.threads == 2
    finally:
        pool.shutdown(wait=True)


def test_many_concurrent_calls_all_complete_and_the_pool_never_exceeds_its_size():
    pool = WorkerPool(4, "test")
    running, peak, lock = [0], [0], threading.Lock()

    def work(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        threading.Event().wait(0.001)
        with lock:
            running[0] -= 1
        return i * i

    async def main():
        return await asyncio.gather(*(pool.run(work, i) for i in range(200)))

    try:
        assert run(main()) == [i * i for i in range(200)]
        assert pool.threads <= 4
        assert peak[0] <= 4
    finally:
        pool.shutdown(wait=True)


def test_a_cancelled_call_does_not_stop_the_pool():
    pool = WorkerPool(1, "test")
    gate = threading.Event()

    async def main():
        call = asyncio.ensure_future(pool.run(gate.wait, 10))
        await asyncio.sleep(0)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        gate.set()
        return await pool.run(lambda: "next")

    try:
        assert run(main()) == "next"
    finally:
        pool.shutdown(wait=True)


def test_a_shut_down_pool_refuses_calls_and_its_threads_end():
    pool = WorkerPool(2, "ending")

    async def first():
        return await pool.run(lambda: 1)

    assert run(first()) == 1
    pool.shutdown(wait=True)
    assert not any(t.name.startswith("ending_") and t.is_alive() for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="shut down"):
        run(first())


def test_a_pool_needs_a_thread():
    with pytest.raises(ValueError, match="at least one thread"):
        WorkerPool(0, "test")
