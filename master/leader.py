"""The leader-only half of a master: the scheduler and the controllers.

``ControllerManager(objects, config)``: ``start()`` when this replica
becomes the Raft leader, ``stop()`` when it stops being one.

- ``start`` returns at once (it is called from a store thread): a starter
  thread builds fresh informers and controllers, lists every kind, and
  only then starts the workers (the cache syncs before workers run).
- ``stop`` returns within a second: it closes the write fence first, so
  nothing is written by these loops after it returns (a write already in
  flight is waited for within that second), then stops every thread.
- Every write goes through ObjectStore compare-and-swap over the Raft log,
  so even a write racing a lost leadership cannot overwrite newer state.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from .controllers.base import Context, Controller
from .controllers.config import ControllerConfig
from .controllers.deployment import DeploymentController
from .controllers.endpoints import EndpointsController
from .controllers.eventgc import EventGarbageCollector
from .controllers.fence import FencedStore
from .controllers.garbagecollector import GarbageCollector
from .controllers.namespace import NamespaceController
from .controllers.nodeipam import NodeIpamController
from .controllers.nodelifecycle import NodeLifecycleController
from .controllers.podgc import PodGarbageCollector
from .controllers.replicaset import ReplicaSetController
from .controllers.serviceip import ServiceIpController
from .objects import ObjectStore
from .scheduler.loop import Scheduler

log = logging.getLogger(__name__)

__all__ = ["ControllerConfig", "ControllerManager"]

CONTROLLERS: tuple[type[Controller], ...] = (
    ReplicaSetController, DeploymentController, NodeLifecycleController, NodeIpamController,
    EndpointsController, ServiceIpController, GarbageCollector, NamespaceController,
    PodGarbageCollector, EventGarbageCollector,
)
STOP_BUDGET = 0.9  # seconds; stop() must return within 1 s


class ControllerManager:
    def __init__(self, objects: ObjectStore, config: ControllerConfig | None = None) -> None:
        self.objects = objects
        self.config = config or ControllerConfig()
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None
        self._fence: FencedStore | None = None
        self._threads: list[threading.Thread] = []
        self._ctx: Context | None = None
        self.controllers: list[Any] = []
        self.ready = threading.Event()  # set once the workers run (tests, status)

    @property
    def running(self) -> bool:
        return self._stop is not None and not self._stop.is_set()

    def start(self) -> None:
        with self._lock:
            if self.running:
                return
            self.ready.clear()
            stop = threading.Event()
            self._stop = stop
            self._fence = FencedStore(self.objects.store)
            objects = ObjectStore(self._fence, clock=self.objects.clock)
            ctx = Context(objects, self.config)
            self._ctx = ctx
            self.controllers = [Scheduler(ctx), *(cls(ctx) for cls in CONTROLLERS)]
            starter = threading.Thread(target=self._run, args=(ctx, stop), daemon=True,
                                       name="controller-manager")
            self._threads = [starter]
            starter.start()

    def _run(self, ctx: Context, stop: threading.Event) -> None:
        ctx.informers.start()
        while not ctx.informers.wait_for_sync(1.0, stop):
            if stop.is_set():
                return
            log.info("controller-manager: waiting for the informers to list")
        workers: list[threading.Thread] = []
        for c in self.controllers:
            workers += c.threads(stop)
        with self._lock:
            if stop.is_set():
                return
            self._threads += workers
            for t in workers:
                t.start()
        self.ready.set()
        log.info("controller-manager: %d controllers running", len(self.controllers))

    def stop(self) -> None:
        deadline = time.monotonic() + STOP_BUDGET
        with self._lock:
            stop, fence, ctx = self._stop, self._fence, self._ctx
            if stop is None or stop.is_set():
                return
            stop.set()
            threads = list(self._threads)
        if fence is not None:
            fence.seal(max(0.0, deadline - time.monotonic() - 0.2))
        if ctx is not None:
            ctx.informers.stop()
        for c in self.controllers:
            c.queue.shutdown()
        if ctx is not None:
            threads += [inf.thread for inf in ctx.informers.all() if inf.thread is not None]
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            log.warning("controller-manager: threads still finishing a call after stop "
                        "(their writes are fenced off): %s", ", ".join(alive))
        self.ready.clear()
        log.info("controller-manager: stopped")
