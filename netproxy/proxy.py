"""The proxy loop: Services + Endpoints in, one nftables table out.

Two informers (``coxapi.informer``) feed a single sync loop. A change marks the state
dirty and notes the Service's key; the loop waits ``debounce`` seconds for more
changes to arrive, then updates the plan (pure) for the keys noted since the
last sync only, so one change costs O(that Service) with thousands present,
applies it in one transaction only if it differs from the last applied plan,
then hands the conntrack entries it made stale to a thread that deletes them.
A sync that fails is retried with back-off and plans from every object; every
``resync_period`` the loop plans from every object too, and checks that its
table is still in the kernel and rewrites it if someone removed it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from coxapi.informer import Informer, ListWatcher
from coxapi.meta import key_of
from coxapi.supervisor import Supervisor

from . import conntrack
from .metrics import PLAN_SIZE, SYNC_SECONDS
from .plan import (
    TABLE,
    Key,
    Objects,
    Plan,
    Planner,
    StaleFlow,
    object_key,
    stale_flows,
    stale_flows_of,
)
from .table import NftTable

log = logging.getLogger(__name__)

BRIDGE_NF_CALL = "/proc/sys/net/bridge/bridge-nf-call-iptables"
STALL_GRACE = 15.0  # seconds past watch_timeout without a word before a watch is stalled


@dataclass
class ProxyConfig:
    table: str = TABLE
    debounce: float = 0.05  # seconds to gather a burst of changes into one sync
    resync_period: float = 30.0
    retry: tuple[float, float] = (0.2, 10.0)  # back-off after a failed sync
    watch_timeout: int = 60


@dataclass
class SyncStats:
    wakeups: int = 0  # loop iterations
    syncs: int = 0  # plans computed
    writes: int = 0  # transactions sent
    failures: int = 0
    last_sync_seconds: float = 0.0
    conntrack_deleted: int = 0
    notes: tuple[str, ...] = field(default=())


class ServiceProxy:
    def __init__(self, client: ListWatcher, node_addresses: Iterable[str],
                 config: ProxyConfig | None = None, netns: str | None = None,
                 table: NftTable | None = None,
                 flush_conntrack: Callable[[list[StaleFlow]], int] | None = None,
                 on_synced: Callable[[int], None] | None = None) -> None:
        self.config = config or ProxyConfig()
        self.node_addresses = tuple(node_addresses)
        self.netns = netns
        self.table = table or NftTable(self.config.table, netns=netns)
        self._conntrack = conntrack.Conntrack(netns)
        self.flush_conntrack = flush_conntrack or self._conntrack.delete_stale
        self.stats = SyncStats()
        self.stop = threading.Event()
        self._dirty = threading.Event()
        # Services (by key) whose objects changed since the last sync, and
        # whether the next sync must plan from every object instead.
        self._lock = threading.Lock()
        self._touched: set[Key] = set()
        self._full = True
        # Conntrack entries that syncs made stale, for the cleanup thread.
        self._stale: set[StaleFlow] = set()
        self._stale_pending = threading.Event()
        self.services = self._informer(client, "services")
        self.endpoints = self._informer(client, "endpoints")
        self.synced = threading.Event()  # set after the first successful sync
        # The Endpoints revision the kernel's rules reflect. Published (through
        # on_synced) so a node agent stopping a pod can wait until every proxy
        # has stopped sending it new connections.
        self.applied_revision = 0
        self.on_synced = on_synced
        self._last_written: Plan | None = None
        # Remembers each Service's part of the table, so a sync re-plans only
        # the Services whose objects changed.
        self.planner = Planner(self.config.table)

    def _informer(self, client: ListWatcher, kind: str) -> Informer:
        inf = Informer(client, kind, watch_timeout=self.config.watch_timeout,
                       stall_timeout=self.config.watch_timeout + STALL_GRACE,
                       name=f"netproxy-{kind}")
        inf.add_handler(self._touch, lambda _old, new: self._touch(new), self._touch)
        return inf

    def _touch(self, obj: dict) -> None:
        """Note (on an informer's thread) that the Service keyed like ``obj`` changed."""
        try:
            key = object_key(obj)
            # Looked up by the informer's key later: it must be the same name.
            exact = key_of(obj) == f"{key[0]}/{key[1]}"
        except (ValueError, AttributeError, TypeError):
            key, exact = None, False
        with self._lock:
            if key is not None and exact:
                self._touched.add(key)
            else:
                self._full = True
        self._dirty.set()

    def plan(self) -> Plan:
        return self._plan()[0]

    def _plan(self) -> tuple[Plan, int]:
        # The revision first: every event up to it has then reached the cache,
        # and (once handled) the keys taken next.
        revision = self.endpoints.revision
        with self._lock:
            touched, self._touched = self._touched, set()
            full, self._full = self._full or not self.planner.has_plan, False
        try:
            if full:
                endpoints, revision = self.endpoints.versioned_list()
                return self.planner.plan(self.services.list(), endpoints,
                                         self.node_addresses), revision
            return self.planner.update({k: self._objects(k) for k in touched},
                                       self.node_addresses), revision
        except BaseException:
            with self._lock:
                self._full = True  # the keys taken are lost
            raise

    def _objects(self, key: Key) -> Objects:
        ref = f"{key[0]}/{key[1]}"
        svc = self.services.get(ref)
        return ((svc,) if svc is not None else ()), self.endpoints.get(ref)

    def sync_once(self) -> bool:
        """Compute the plan and apply it if it changed; True when written."""
        start = time.monotonic()
        plan, revision = self._plan()
        written = self.table.apply(plan, self.planner.change)
        if revision > self.applied_revision:
            self.applied_revision = revision
            if self.on_synced is not None:
                try:
                    self.on_synced(revision)
                except Exception as e:  # noqa: BLE001 - publishing must not stop the proxy
                    log.warning("publishing the synced revision failed: %s", e)
        self.stats.syncs += 1
        if plan.notes != self.stats.notes:
            for note in plan.notes:
                log.warning("not proxied: %s", note)
            self.stats.notes = plan.notes
        change = self.planner.change
        if written:
            self.stats.writes += 1
            # against the last plan written, even if the table was since rewritten whole
            if change is not None and change.previous is self._last_written:
                flows = stale_flows_of(change)
            else:
                flows = stale_flows(self._last_written, plan)
            self._last_written = plan
            if flows:
                with self._lock:
                    self._stale.update(flows)
                self._stale_pending.set()
        else:  # an equal table: the next change's previous plan stands for it
            self._last_written = plan
        self.stats.last_sync_seconds = time.monotonic() - start
        SYNC_SECONDS.observe(self.stats.last_sync_seconds)
        if written:  # else the table, and so its size, is as it was
            size = plan.stats()
            for part, n in size.items():
                PLAN_SIZE.labels(part).set(n)
            log.info("synced %s in %.3fs", size, self.stats.last_sync_seconds)
        return written

    def run(self, stop: threading.Event | None = None) -> None:
        """Run until ``stop`` (or ``self.stop``) is set; joins its threads on return."""
        threads = Supervisor("netproxy", self.stop)
        if stop is not None:
            threads.spawn("netproxy-stop", lambda own: self._follow(stop, own))
        threads.spawn("netproxy-services", self.services.run)
        threads.spawn("netproxy-endpoints", self.endpoints.run)
        threads.spawn("netproxy-conntrack", self._delete_stale_flows)
        try:
            self._loop()
        finally:
            threads.stop()
            self._dirty.set()
            self._stale_pending.set()
            threads.join(5.0)
            self._conntrack.close()

    def _delete_stale_flows(self, stop: threading.Event) -> None:
        """Delete the conntrack entries syncs made stale, off the sync loop:
        a dump walks the kernel's whole conntrack hash (~10 ms with 262,144
        buckets, the table empty or not), which would delay the next rule
        change. Flows gathered meanwhile go in one dump."""
        while not stop.is_set():
            self._stale_pending.wait()
            self._stale_pending.clear()
            with self._lock:
                flows, self._stale = sorted(self._stale, key=repr), set()
            if not flows or stop.is_set():
                continue
            try:
                self.stats.conntrack_deleted += self.flush_conntrack(flows)
            except Exception as e:  # noqa: BLE001 - stale entries also time out
                log.warning("deleting stale conntrack entries failed: %s", e)

    def _follow(self, stop: threading.Event, own: threading.Event) -> None:
        """Set our stop (and wake the loop) when the caller's ``stop`` is set."""
        while not own.is_set():
            if stop.wait(0.2):
                own.set()
                self._dirty.set()

    def _loop(self) -> None:
        # Never write a table from half the picture (it would drop live services).
        while not (self.services.wait_for_sync(0.1) and self.endpoints.wait_for_sync(0.1)):
            if self.stop.is_set():
                return
        delay = self.config.retry[0]
        next_check = time.monotonic() + self.config.resync_period
        self._dirty.set()
        while not self.stop.is_set():
            timeout = max(0.0, next_check - time.monotonic())
            self._dirty.wait(timeout)
            self.stats.wakeups += 1
            if self.stop.is_set():
                break
            if self._dirty.is_set():
                self.stop.wait(self.config.debounce)
                self._dirty.clear()
            elif time.monotonic() >= next_check:
                next_check = time.monotonic() + self.config.resync_period
                with self._lock:
                    self._full = True
                try:
                    if not self.table.exists():
                        log.warning("table %s vanished from the kernel; rewriting it",
                                    self.config.table)
                        self.table.applied = None
                except Exception as e:  # noqa: BLE001
                    log.warning("checking table %s failed: %s", self.config.table, e)
            try:
                self.sync_once()
                self.synced.set()
                delay = self.config.retry[0]
            except Exception as e:  # noqa: BLE001 - the loop never dies; it retries
                self.stats.failures += 1
                log.error("sync failed (retrying in %.1fs): %s", delay, e)
                self.table.applied = None
                self.stop.wait(delay)
                delay = min(delay * 2, self.config.retry[1])
                self._dirty.set()

    def cleanup(self) -> None:
        """Remove the table from the kernel."""
        self.table.delete()
        self.table.close()
        self._conntrack.close()


def enable_bridge_netfilter() -> None:
    """Let bridged pod-to-pod replies pass conntrack, so a reply from an
    endpoint on the same bridge as its client is translated back (the
    reason kube-proxy needs br_netfilter)."""
    try:
        with open(BRIDGE_NF_CALL) as f:
            if f.read().strip() == "1":
                return
        with open(BRIDGE_NF_CALL, "w") as f:
            f.write("1")
    except OSError as e:
        log.warning("cannot enable %s (%s): replies between pods on the same bridge may "
                    "bypass service NAT; load br_netfilter", BRIDGE_NF_CALL, e)


def run_proxy(client: ListWatcher, node_addresses: Iterable[str], stop_event: threading.Event,
              netns: str | None = None, config: ProxyConfig | None = None,
              cleanup_on_exit: bool = False,
              on_synced: Callable[[int], None] | None = None) -> ServiceProxy:
    """Run the proxy for this node until ``stop_event`` is set.

    ``netns`` names the network namespace to program when the caller is not
    already inside it (the node agent runs inside its node's namespace and
    passes None). Like kube-proxy, the table stays in place on exit so
    traffic keeps flowing while the proxy restarts, unless ``cleanup_on_exit``.
    """
    if netns is None:
        enable_bridge_netfilter()
    proxy = ServiceProxy(client, node_addresses, config, netns=netns, on_synced=on_synced)
    log.info("netproxy starting (table %s, node addresses %s, pid %d)", proxy.config.table,
             ", ".join(proxy.node_addresses) or "none", os.getpid())
    try:
        proxy.run(stop_event)
    finally:
        if cleanup_on_exit:
            proxy.cleanup()
        else:
            proxy.table.close()
    return proxy
