"""Writes issued together rather than one after another.

Every write is a Raft commit, so a controller that creates or deletes many
pods is bound by commit latency, not CPU; issued together they share group
commits (Kubernetes' controllers run each slow-start batch in goroutines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
MAX_IN_FLIGHT = 64  # writes in flight at once from one call


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
    """``fn`` on every item, up to ``limit`` at a time; what each returned, in order."""
    return _run(fn, list(items), limit)


R = TypeVar("R")


def _run(fn: Callable[[T], R], todo: list[T], limit: int) -> list[R]:
    if len(todo) <= 1:
        return [fn(i) for i in todo]
    with ThreadPoolExecutor(max_workers=min(limit, len(todo)),
                            thread_name_prefix="parallel-write") as pool:
        return list(pool.map(fn, todo))
