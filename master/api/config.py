"""Settings of one API server: the ``api:`` section of the master's settings
(master.config.MasterConfig; docs/config.md)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from coxapi.config import EVENT_TTL_SECONDS, NOT_A_SETTING

from ..auth import Authenticator, TokenAuthenticator


@dataclass
class ApiConfig:
    name: str = field(default="master", metadata=NOT_A_SETTING)  # the master's name
    authenticator: Authenticator = field(default_factory=TokenAuthenticator,
                                         metadata=NOT_A_SETTING)
    # Longest watch (clients re-watch).
    watch_max_seconds: int = 600
    # How often the watches are checked for shutdown, a leaderless store and bookmarks due.
    watch_poll_seconds: float = 1.0
    bookmark_interval_seconds: float = 15.0
    # Under a stream of commits, watch events go out at most this often (the first
    # after a quiet spell at once): several in one write to each watcher, where one
    # write per commit cost the master and its watchers' clients a write each.
    watch_coalesce_seconds: float = 0.01
    # Watches end (ERROR 503) once the store has had no leader this long.
    watch_leaderless_seconds: float = 3.0
    # Events created through the API expire after this long (a store lease; the
    # master's event_ttl).
    event_ttl_seconds: int = field(default=EVENT_TTL_SECONDS, metadata=NOT_A_SETTING)
    # /readyz: a replica this many entries behind its commit index is not ready.
    ready_max_lag: int = 100
    # Connect timeout towards node agents (pod logs).
    agent_connect_timeout: float = 3.0
    # How node agents are reached (logs, exec, port-forward): TLS verified with
    # this context, or None for plain HTTP (a master serving plain HTTP).
    agent_tls: ssl.SSLContext | None = field(default=None, metadata=NOT_A_SETTING)
    max_body_bytes: int = 3 * 1024 * 1024
    # Request/response calls in flight (not watches), in total and per user:
    # 429 with Retry-After beyond (Kubernetes' --max-requests-inflight is 400).
    max_requests_inflight: int = 400
    max_requests_inflight_per_client: int = 200
    # Nodes' own Lease and Node writes have a budget (and threads) of their own.
    heartbeat_requests_inflight: int = 64
    heartbeat_threads: int = 8
    # A request body must arrive within this long (a slow sender holds a slot).
    body_timeout_seconds: float = 60.0
    git_version: str = field(default="v1.32.0-coxswain.0.1.0", metadata=NOT_A_SETTING)
