"""Configuration of a store replica. Defaults are tuned for replicas on a LAN
or loopback: a new leader within ~1 s of losing the old one."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import InvalidArgument

# Field metadata: set by the process that runs the replica (the master from
# its own settings, ``python -m raftstore`` from its flags), never read from a
# config file or the environment (coxapi.config's NOT_A_SETTING).
PROCESS_SET = {"setting": False}


@dataclass
class StoreConfig:
    self_addr: str = field(default="127.0.0.1:7001", metadata=PROCESS_SET)
    peers: list[str] = field(default_factory=list, metadata=PROCESS_SET)
    data_dir: str | None = field(default=None, metadata=PROCESS_SET)
    secret: str | None = field(default=None, repr=False, metadata=PROCESS_SET)  # never printed
    # Raft peer port to bind, when it differs from the advertised self_addr.
    bind_addr: str | None = None

    write_timeout: float = 3.0  # writes and linearizable reads give up after this
    quota_bytes: int = 2 * 1024**3
    history_max_events: int = 100_000
    history_max_age: float = 3600.0  # seconds of watch history kept
    watch_queue_size: int = 10_000
    max_batch: int = 512  # commands per Raft entry (group commit)
    max_inflight: int = 1  # Raft entries proposed but not yet applied (group commit)
    # sync the journal before acting on an entry (Raft's rule; off only for
    # comparisons: then a power cut of a majority may lose acknowledged writes)
    fsync: bool = True

    # Raft timing (seconds)
    election_timeout_min: float = 0.4
    election_timeout_max: float = 0.8
    heartbeat_period: float = 0.05
    connection_timeout: float = 1.0
    # check-quorum: a leader that heard from no majority this long steps down
    # (at most election_timeout_max: by then the others may have elected one)
    leader_fallback_timeout: float = 0.8
    # log compaction (snapshot) after this many entries or seconds, whichever first
    snapshot_entries: int = 50_000
    snapshot_seconds: float = 600.0

    def limits(self) -> tuple[int, int, float]:
        return (self.quota_bytes, self.history_max_events, self.history_max_age)

    def validate(self) -> None:
        for name in ("write_timeout", "history_max_age", "election_timeout_min",
                     "heartbeat_period", "connection_timeout", "leader_fallback_timeout"):
            if getattr(self, name) <= 0:
                raise InvalidArgument(f"{name} must be positive")
        if self.election_timeout_max <= self.election_timeout_min:
            raise InvalidArgument("election_timeout_max must exceed election_timeout_min")
        if self.heartbeat_period * 3 > self.election_timeout_min:
            raise InvalidArgument("heartbeat_period must be under a third of the election timeout")
        for name in ("quota_bytes", "history_max_events", "watch_queue_size", "max_batch",
                     "max_inflight"):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be at least 1")
        for addr in [self.self_addr, *self.peers]:
            check_addr(addr)
        if self.self_addr in self.peers:
            raise InvalidArgument(f"peers must not include this replica ({self.self_addr})")


def check_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgument(f"address must be HOST:PORT, got {addr!r}")
    return host, int(port)
