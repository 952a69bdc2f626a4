"""The rules each user holds in each namespace, kept between requests and
dropped when any Role, ClusterRole, RoleBinding or ClusterRoleBinding
changes.

Without it every request from a user outside system:masters decoded every
ClusterRoleBinding and the namespace's RoleBindings and looked up each bound
role. The cache is told of changes by store watches on the four RBAC
prefixes, drained at the start of each decision. The store publishes a
change to its watches while applying it, before the write returns, so a
binding deleted on this replica revokes on the very next request here
(read-your-writes, as before the cache); one deleted through another master
revokes once this replica applied it, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from raftstore.errors import StoreError

Rules = tuple[Any, ...]
Key = tuple[str, tuple[str, ...], str]  # user, groups, namespace
MAX_ENTRIES = 10_000  # users x namespaces held before starting over


class ChangeCounter:
    """A generation that grows whenever something under ``prefixes`` changed.
    A watch that closed (fell 10,000 events behind, or the store relisted)
    is replaced and counts as a change."""

    def __init__(self, store: Any, prefixes: Sequence[str]) -> None:
        self._store = store
        self._prefixes = list(prefixes)
        self._lock = threading.Lock()
        self._watches: list[Any] = [None] * len(self._prefixes)
        self.generation = 0
        self._rewatch()

    def _rewatch(self) -> bool:
        """(Re)open closed watches; False if one could not be (then nothing
        may be cached)."""
        ok = True
        for i, w in enumerate(self._watches):
            if w is None or w.closed:
                try:
                    w = self._watches[i] = self._store.watch(self._prefixes[i])
                    w.prev_kv = False  # only counted
                except StoreError:
                    self._watches[i] = None
                    ok = False
        return ok

    def current(self) -> int | None:
        """The generation once every change applied so far is counted; None
        while a watch is down."""
        with self._lock:
            changed = False
            for w in self._watches:
                if w is None:
                    changed = True
                    continue
                try:
                    while w.get(timeout=0) is not None:
                        changed = True
                except StoreError:  # it overflowed: closed, replaced below
                    changed = True
                changed = changed or w.closed
            if changed:
                self.generation += 1
                if not self._rewatch():
                    return None
            return self.generation


class RulesCache:
    """``rules(key, compute)``: the cached rules of ``key``, or ``compute()``'s,
    kept unless RBAC changed while they were computed."""

    def __init__(self, changes: ChangeCounter) -> None:
        self._changes = changes
        self._entries: dict[Key, tuple[int, Rules]] = {}

    def rules(self, key: Key, compute: Callable[[], Rules]) -> Rules:
        generation = self._changes.current()
        if generation is None:
            return compute()
        hit = self._entries.get(key)
        if hit is not None and hit[0] == generation:
            return hit[1]
        rules = compute()
        # a change applied while computing is counted by the next current():
        # this entry is then stale and not used
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (generation, rules)
        return rules
