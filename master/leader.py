"""The leader-only half of a master: the scheduler and the controllers.

``ControllerManager(objects, config)``: ``start()`` when this replica
becomes the Raft leader, ``stop()`` when it stops being one.

- ``start`` returns at once: it builds fresh informers and controllers and
  starts the informers; a starter thread waits until every kind is listed
  and only then starts the workers (the cache syncs before workers run).
  Every thread of a term belongs to one ``Supervisor``, which logs any that
  dies while leading.
- ``stop`` returns within a second: it closes the write fence first, so
  nothing is written by these loops after it returns (a write already in
  flight is waited for within that second), then stops and joins every thread.
- Every write goes through ObjectStore compare-and-swap over the Raft log,
  so even a write racing a lost leadership cannot overwrite newer state.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from coxapi.supervisor import Supervisor

from .controllers.base import Context, Controller
from .controllers.config import ControllerConfig
from .controllers.cronjob import CronJobController
from .controllers.daemonset import DaemonSetController
from .controllers.deployment import DeploymentController
from .controllers.endpoints import EndpointsController
from .controllers.eventgc import EventGarbageCollector
from .controllers.fence import FencedStore
from .controllers.garbagecollector import GarbageCollector
from .controllers.hpa import HorizontalPodAutoscalerController
from .controllers.job import JobController
from .controllers.namespace import NamespaceController
from .controllers.nodeipam import NodeIpamController
from .controllers.nodelifecycle import NodeLifecycleController
from .controllers.persistentvolume import PersistentVolumeController
from .controllers.podgc import PodGarbageCollector
from .controllers.proxyrecord import ProxyRecordController
from .controllers.replicaset import ReplicaSetController
from .controllers.resourcequota import ResourceQuotaController
from .controllers.serviceaccount import ServiceAccountsController
from .controllers.serviceip import ServiceIpController
from .controllers.statefulset import StatefulSetController
from .objects import ObjectStore
from .scheduler.loop import Scheduler

log = logging.getLogger(__name__)

__all__ = ["ControllerConfig", "ControllerManager"]

CONTROLLERS: tuple[type[Controller], ...] = (
    ResourceQuotaController,
    ReplicaSetController, DeploymentController, NodeLifecycleController, NodeIpamController,
    EndpointsController, ProxyRecordController, ServiceIpController, GarbageCollector,
    NamespaceController,
    PodGarbageCollector, EventGarbageCollector, ServiceAccountsController,
    StatefulSetController,
    PersistentVolumeController,
    JobController, DaemonSetController, CronJobController, HorizontalPodAutoscalerController,
)
STOP_BUDGET = 0.9  # seconds; stop() must return within 1 s


class ControllerManager:
    def __init__(self, objects: ObjectStore, config: ControllerConfig | None = None) -> None:
        self.objects = objects
        self.config = config or ControllerConfig()
        self._lock = threading.Lock()
        self._threads: Supervisor | None = None  # one per leadership term
        self._fence: FencedStore | None = None
        self._ctx: Context | None = None
        self.controllers: list[Any] = []
        self.ready = threading.Event()  # set once the workers run (tests, status)

    @property
    def running(self) -> bool:
        return self._threads is not None and not self._threads.stop_event.is_set()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self.ready.clear()
            threads = Supervisor("controller-manager")
            self._threads = threads
            self._fence = FencedStore(self.objects.store)
            objects = ObjectStore(self._fence, clock=self.objects.clock)
            ctx = Context(objects, self.config)
            self._ctx = ctx
            self.controllers = [Scheduler(ctx), *(cls(ctx) for cls in CONTROLLERS)]
            for inf in ctx.informers.all():  # every one the controllers asked for
                threads.spawn(inf.name, inf.run)
            threads.spawn("events", ctx.events.run)
            threads.spawn("controller-manager", lambda stop: self._start_workers(ctx, threads),
                          oneshot=True)

    def _start_workers(self, ctx: Context, threads: Supervisor) -> None:
        stop = threads.stop_event
        while not ctx.informers.wait_for_sync(1.0, stop):
            if stop.is_set():
                return
            log.info("controller-manager: waiting for the informers to list")
        with self._lock:
            if stop.is_set():
                return
            for c in self.controllers:
                for name, loop in c.loops().items():
                    threads.spawn(name, loop)
        self.ready.set()
        log.info("controller-manager: %d controllers running", len(self.controllers))

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET
        with self._lock:
            threads, fence, ctx = self._threads, self._fence, self._ctx
            if threads is None or threads.stop_event.is_set():
                return
            threads.stop()
        if fence is not None:
            fence.seal(max(0.0, deadline - time.monotonic() - 0.2))
        if ctx is not None:
            ctx.informers.stop()  # wakes their watches
            ctx.events.wake()
        for c in self.controllers:
            c.queue.shutdown()
        if threads.join(max(0.0, deadline - time.monotonic())):
            log.warning("controller-manager: those threads are finishing a call; their writes "
                        "are fenced off")
        self.ready.clear()
        log.info("controller-manager: stopped")
