"""Threads that run the API's blocking calls for the event loop.

``loop.run_in_executor`` with a ``ThreadPoolExecutor`` costs, per call, a
``concurrent.futures.Future`` (a Condition and its lock), an asyncio future
chained to it by callbacks on both sides, and an idle-semaphore release in the
worker (a Condition again): about a tenth of the API event loop's and of the
worker threads' time on a busy leader, for every request. Here a call is a
tuple in a ``SimpleQueue`` and its answer one ``call_soon_threadsafe``.

Threads start as calls find none idle, up to ``threads``; a call beyond that
waits in the queue for the first thread to come free.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from queue import SimpleQueue
from typing import Any, TypeVar

T = TypeVar("T")

_Call = tuple[asyncio.AbstractEventLoop, asyncio.Future, Callable[..., Any], tuple[Any, ...]]


def _settle(fut: asyncio.Future, ok: bool, value: Any) -> None:
    if fut.done():  # the awaiting task was cancelled (its client went away)
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class WorkerPool:
    def __init__(self, threads: int, name: str) -> None:
        if threads < 1:
            raise ValueError(f"a worker pool needs at least one thread, got {threads}")
        self._max = threads
        self._name = name
        self._calls: SimpleQueue[_Call | None] = SimpleQueue()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        # threads waiting for a call no call has claimed, less calls no thread has
        self._idle = 0
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread; its result or its exception."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"worker pool {self._name} is shut down")
            if self._idle > 0 or len(self._threads) >= self._max:
                self._idle -= 1  # below 0: calls queued for the first thread to come free
            else:
                t = threading.Thread(target=self._work, name=f"{self._name}_{len(self._threads)}",
                                     daemon=True)
                self._threads.append(t)
                t.start()
        self._calls.put((loop, fut, fn, args))
        return await fut

    def _work(self) -> None:
        while True:
            call = self._calls.get()
            if call is None:
                return
            loop, fut, fn, args = call
            try:
                ok, value = True, fn(*args)
            except BaseException as e:  # noqa: BLE001 - handed to the awaiting task
                ok, value = False, e
            del call, fn, args  # nothing of this call outlives it in an idle thread
            with self._lock:
                self._idle += 1
            try:
                loop.call_soon_threadsafe(_settle, fut, ok, value)
            except RuntimeError:  # the loop is closed: nobody awaits it any more
                pass
            del fut, value

    @property
    def threads(self) -> int:
        return len(self._threads)

    def shutdown(self, wait: bool = False) -> None:
        """End the threads once the calls queued before this are done."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._calls.put(None)
        if wait:
            for t in threads:
                t.join()
