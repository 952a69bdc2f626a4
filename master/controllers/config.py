"""Tunables of the leader-only control loops, with Kubernetes' defaults
where Kubernetes has one: the ``controllers:`` section of the master's
settings (master.config.MasterConfig; docs/config.md). Clocks are injected so
tests control time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coxapi.config import CLUSTER_CIDR, EVENT_TTL_SECONDS, NOT_A_SETTING, SERVICE_CIDR


@dataclass
class ControllerConfig:
    cluster_cidr: str = CLUSTER_CIDR
    node_cidr_mask: int = 24
    service_cidr: str = SERVICE_CIDR
    node_port_range: tuple[int, int] = (30000, 32767)
    # node lifecycle: NotReady after a lease this old, pods evicted this much later
    node_grace_period: float = 20.0
    eviction_timeout: float = 10.0
    node_monitor_period: float = 1.0
    # pod GC: terminated pods beyond this many are deleted, oldest first
    terminated_pod_gc_threshold: int = 12500
    pod_gc_period: float = 20.0
    # seconds an Event lives after its last write (the master's event_ttl)
    event_ttl: float = field(default=float(EVENT_TTL_SECONDS), metadata=NOT_A_SETTING)
    event_gc_period: float = 60.0
    workers: int = 2
    scheduler_name: str = "default-scheduler"
    # bindings in flight at once: each is a Raft commit, so latency-bound
    scheduler_bind_workers: int = 32
    # unschedulable pods are retried with back-off from ..._initial up to ..._max
    scheduler_backoff_initial: float = 1.0
    scheduler_backoff_max: float = 30.0
    seed: int | None = None  # the scheduler's tie-break RNG; None = pick by name
    # wall clock (timestamps written into objects) and monotonic clock (ages)
    clock: Callable[[], float] = field(default=time.time, metadata=NOT_A_SETTING)
    monotonic: Callable[[], float] = field(default=time.monotonic, metadata=NOT_A_SETTING)
    # seconds between bookmarks of a quiet in-process informer watch; a stop
    # interrupts the watch, so this wakes nothing that has to be quick
    informer_poll: float = 5.0
    # a controller whose every sync counts all of a workload's pods (the
    # ReplicaSet controller) syncs one object at most once per this many
    # seconds: pod changes meanwhile fold into the next sync (the first change
    # after a quiet spell is handled at once)
    sync_throttle: float = 0.1
