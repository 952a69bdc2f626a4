"""The store's error hierarchy. Every error a caller can see is a ``StoreError``;
messages name what is wrong and never contain secrets."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .types import KeyValue


class StoreError(Exception):
    """Base of every error the store raises."""


class InvalidArgument(StoreError, ValueError):
    """A request that can never succeed as written (bad key, value, TTL, revision)."""


class ValueTooLarge(InvalidArgument):
    """A value over the store's size limit (etcd: "request is too large")."""


class KeyNotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key not found: {key!r}")
        self.key = key

    def __reduce__(self):
        return (KeyNotFound, (self.key,))


class CompareFailed(StoreError):
    """A compare-and-swap precondition did not hold; ``current`` is the key's
    value at the revision the comparison was made (None if it did not exist)."""

    def __init__(self, key: str, current: KeyValue | None, message: str | None = None) -> None:
        if message is None:
            have = "absent" if current is None else f"at mod_revision {current.mod_revision}"
            message = f"compare failed on {key!r}: key is {have}"
        super().__init__(message)
        self.key = key
        self.current = current

    def __reduce__(self):
        return (CompareFailed, (self.key, self.current, str(self)))


class Compacted(StoreError):
    """The requested revision is older than the retained history (HTTP 410)."""

    def __init__(self, compact_revision: int, message: str | None = None) -> None:
        super().__init__(message or f"required revision has been compacted "
                                    f"(history starts after revision {compact_revision})")
        self.compact_revision = compact_revision

    def __reduce__(self):
        return (Compacted, (self.compact_revision, str(self)))


class Unavailable(StoreError):
    """No quorum or no leader within the deadline. For a write the outcome is
    unknown: it may still commit (as with etcd). ``outcome_unknown`` is False
    when nothing could have been written (a read, or a store already closed)."""

    def __init__(self, message: str, outcome_unknown: bool = True) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown

    def __reduce__(self):
        return (Unavailable, (str(self), self.outcome_unknown))


class CannotListen(StoreError, OSError):
    """The replica could not bind its Raft address (another process holds
    it, or it is not this machine's). Raised at start, never later."""


class QuotaExceeded(StoreError):
    def __init__(self, size: int, quota: int) -> None:
        super().__init__(f"database space exceeded: {size} bytes used, quota {quota} bytes; "
                         f"delete keys or compact history")
        self.size = size
        self.quota = quota

    def __reduce__(self):
        return (QuotaExceeded, (self.size, self.quota))


class LeaseNotFound(StoreError):
    def __init__(self, lease_id: int) -> None:
        super().__init__(f"lease not found: {lease_id}")
        self.lease_id = lease_id

    def __reduce__(self):
        return (LeaseNotFound, (self.lease_id,))
