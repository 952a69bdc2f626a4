"""The Raft-replicated MVCC key-value store (see docs/raftstore.md)."""

from .base import Store
from .config import StoreConfig
from .memory import MemoryStore

__all__ = ["MemoryStore", "RaftStore", "Store", "StoreConfig"]


def __getattr__(name: str):
    # RaftStore pulls in pysyncobj; load it only when asked for
    if name == "RaftStore":
        from .raft import RaftStore
        return RaftStore
    raise AttributeError(name)
