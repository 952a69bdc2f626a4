"""The shape every controller shares (Kubernetes' sample-controller).

Event handlers only enqueue keys; workers take a key, read the informer
caches and reconcile toward the spec. ``reconcile`` returns None when done
or a delay to look again; ``NotFound`` counts as done; any other exception
is logged and the key requeued with back-off. Workers never die.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.informer import Informer
from raftstore.errors import StoreError

from ..eventleases import EventLeases
from ..listwatch import StoreListWatcher
from ..metrics import RECONCILE_SECONDS
from ..objects import ObjectStore
from ..workqueue import WorkQueue
from .config import ControllerConfig
from .events import EventRecorder, EventWriter

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class RetryLater(Exception):
    """An expected, reported failure (e.g. pods could not be created): the
    key is retried with back-off and logged without a traceback."""


class InformerFactory:
    """One shared informer per kind, so controllers share caches and watches."""

    def __init__(self, objects: ObjectStore, poll: float = 0.1) -> None:
        self.source = StoreListWatcher(objects, poll)
        self.metadata_source = StoreListWatcher(objects, poll, metadata_only=True)
        self._informers: dict[str, Informer] = {}
        self._metadata: dict[str, Informer] = {}

    def __getitem__(self, kind: str) -> Informer:
        inf = self._informers.get(kind)
        if inf is None:
            inf = self._informers[kind] = Informer(self.source, kind)
        return inf

    def metadata(self, kind: str) -> Informer:
        """A shared informer whose objects carry only type and metadata
        (Kubernetes' metadata informers): for a controller that needs no
        more, so the leader keeps no spec, data or decrypted Secret for it."""
        inf = self._metadata.get(kind)
        if inf is None:
            inf = self._metadata[kind] = Informer(self.metadata_source, kind)
        return inf

    def all(self) -> list[Informer]:
        return [*self._informers.values(), *self._metadata.values()]

    def start(self) -> None:
        for inf in self.all():
            inf.start()

    def wait_for_sync(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """True once every informer has listed; False on timeout or stop."""
        deadline = time.monotonic() + timeout
        for inf in self.all():
            while not inf.wait_for_sync(0.05):
                if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                    return False
        return True

    def stop(self) -> None:
        for inf in self.all():
            inf.stop()

    def relist(self) -> None:
        """List every kind again now (tests drive the caches with this)."""
        for inf in self.all():
            inf.relist()


class Context:
    """What every loop of one leadership term shares: the (fenced) object
    store, the config and one informer per kind."""

    def __init__(self, objects: ObjectStore, config: ControllerConfig | None = None) -> None:
        self.objects = objects
        self.config = config or ControllerConfig()
        self.informers = InformerFactory(objects, self.config.informer_poll)
        # writes every recorder's events once its ``run`` is a thread of the term
        self.events = EventWriter()
        # the store lease the term's Events expire with, granted through the fence
        self.event_leases = EventLeases(objects.store, int(self.config.event_ttl),
                                        clock=self.config.monotonic)

    def recorder(self, component: str) -> EventRecorder:
        return self.events.add(EventRecorder(self.objects, component, clock=self.config.clock,
                                             leases=self.event_leases))


class Controller:
    name = "controller"
    # seconds between calls of ``periodic`` (0 = never)
    period: float = 0.0
    # one key synced at most once per ``sync_throttle`` (see ControllerConfig)
    throttled: bool = False

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.objects = ctx.objects
        self.config = ctx.config
        self.queue = WorkQueue(throttle=self.config.sync_throttle if self.throttled else 0.0)
        self.events = ctx.recorder(self.name)

    # ---- to override ------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        raise NotImplementedError

    def periodic(self) -> None:
        """Called every ``period`` seconds (e.g. to enqueue every key)."""

    # ---- plumbing -----------------------------------------------------------

    def enqueue(self, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        ns, name = meta.get("namespace"), meta.get("name", "")
        self.queue.add(f"{ns}/{name}" if ns else name)

    def handlers(self, fn: Callable[[Obj], None] | None = None) -> dict[str, Callable]:
        """add/update/delete handlers that all call ``fn`` (default: enqueue)."""
        fn = fn or self.enqueue
        return {"on_add": fn, "on_update": lambda old, new: fn(new), "on_delete": fn}

    def process(self, key: str) -> None:
        """One reconcile of ``key`` with the never-die error policy."""
        try:
            with RECONCILE_SECONDS.labels(self.name).time():
                after = self.reconcile(key)
        except errors.NotFound:
            self.queue.forget(key)
        except Exception as e:  # noqa: BLE001 - logged, retried with back-off
            # Expected failures (a conflict, no quorum, a write fenced off after
            # leadership ended) are one line; anything else is a bug: traceback.
            if isinstance(e, errors.ApiError | RetryLater | StoreError):
                log.info("%s: %s: %s; retrying", self.name, key, e)
            else:
                log.exception("%s: reconciling %s failed; retrying", self.name, key)
            self.queue.add_rate_limited(key)
        else:
            self.queue.forget(key)
            if after is not None:
                self.queue.add_after(key, after)

    def run_worker(self, stop: threading.Event) -> None:
        self.queue.work(self.process, stop)

    def run_periodic(self, stop: threading.Event) -> None:
        while not stop.wait(self.period):
            try:
                self.periodic()
            except Exception:  # noqa: BLE001 - the loop never dies
                log.exception("%s: periodic pass failed", self.name)

    def loops(self) -> dict[str, Callable[[threading.Event], None]]:
        """This controller's long-running loops by thread name (a Supervisor
        runs them; each returns once its stop event is set)."""
        out: dict[str, Callable[[threading.Event], None]] = {
            f"{self.name}-{i}": self.run_worker for i in range(self.config.workers)}
        if self.period:
            out[f"{self.name}-periodic"] = self.run_periodic
        return out

    def drain(self, rounds: int = 1000) -> int:
        """Process every key queued now, synchronously (tests, the bench)."""
        return self.queue.drain(self.process, rounds)
