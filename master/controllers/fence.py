"""A write fence around the raw store: once closed, no write leaves this
process. The leader closes it on losing leadership so that, after
``ControllerManager.stop`` returns, nothing more is written by its loops.
A write already in flight when the fence closes is waited for (briefly);
being a Raft command, it commits only if it still can (CAS guards the rest).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from raftstore.errors import Unavailable

_WRITES = frozenset({"put", "delete", "delete_prefix", "txn", "compact",
                     "lease_grant", "lease_keepalive", "lease_revoke"})


class FencedStore:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._cond = threading.Condition()
        self._open = True
        self._in_flight = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name not in _WRITES:
            return attr

        def fenced(*args: Any, **kwargs: Any) -> Any:
            with self._cond:
                if not self._open:
                    raise Unavailable("this master is no longer the leader")
                self._in_flight += 1
            try:
                return attr(*args, **kwargs)
            finally:
                with self._cond:
                    self._in_flight -= 1
                    self._cond.notify_all()
        return fenced

    def close(self, timeout: float) -> bool:
        """Refuse new writes; wait up to ``timeout`` for in-flight ones.
        Returns True if none is left in flight."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._open = False
            while self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True
