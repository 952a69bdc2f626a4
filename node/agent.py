"""The node agent: discover state, compute the plan (pure), apply it — in a loop.

Threads: the sync loop (here), one worker per pod being changed (so a long
graceful stop of one pod never holds up the others), the probers, and the
long-lived ones a ``Supervisor`` starts and joins: the heartbeat and its
proxy-revision publisher, the stats sampler, the Service informer, the pod
informer (whose watch wakes the loop early), the route syncer, the log
server and (optionally) the service proxy. The sync loop owns the per-pod state (``PodRecord``);
workers hand their results back through their futures. The one exception:
a pod the agent has never seen is started by the pod informer's thread at
once (``_start_new``), under the records' lock, rather than after the loop's
next pass has listed every container of the node.

When no master answers, the loop keeps driving the pods it last knew about
(restarting crashed containers, probing) and writes nothing; containers are
only ever removed as orphans after a successful list from the API, so an
unreachable API never kills a pod.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from coxapi import errors, private
from coxapi.client import Client
from coxapi.informer import Informer
from coxapi.kinds.persistentvolume import LOCAL_PATH_ROOT
from coxapi.retry import retry_on_conflict, starting_with
from coxapi.supervisor import Supervisor
from netproxy.proxy import run_proxy

from . import eviction, podplan, podspec
from .agentstreams import AgentApp
from .backoff import Backoff
from .config import AgentConfig
from .dnsserver import DnsServer, ZoneFeed
from .drain import EndpointDrain, newest_version
from .events import NodeEvents
from .executor import PlanExecutor, pod_ref
from .heartbeat import Heartbeat
from .localpath import run_reclaimer
from .logserver import (
    LogServer,
    MasterTokens,
    TokenCache,
    create_app,
    master_keys,
    master_metrics_checker,
)
from .metrics import POD_SYNC_SECONDS, POD_SYNCS
from .network import NodeNetwork
from .podrecord import PodRecord, PodTask, RecentVersions
from .prober import ProbeManager, ProbeTarget
from .registration import MachineInfo, node_object, register, retry_forever, wait_for_pod_cidr
from .runtime import ContainerInfo, Runtime
from .stats import StatsCollector, node_usage
from .status import Observed, pod_status, rfc3339
from .volumes import Mounter

log = logging.getLogger(__name__)
Obj = dict[str, Any]


__all__ = ["Agent", "AgentConfig"]


class Agent:
    def __init__(self, config: AgentConfig, client: Client, runtime: Runtime,
                 clock: Callable[[], float] = time.time,
                 authenticate: Callable[[str], bool] | None = None,
                 mounter: Mounter | None = None) -> None:
        self.config = config
        self.name = config.node.name
        self.client = client
        self.runtime = runtime
        self.clock = clock
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.backoff = Backoff(clock)
        self.events = NodeEvents(client, self.name, clock)
        # Every Service: the containers' environment (kubelet's service lister)
        # and, when served, cluster DNS.
        self.services = Informer(client, "Service", watch_timeout=300, stale_list=True,
                                 name="service-informer")
        self.executor = PlanExecutor(config, client, runtime, clock, self.backoff,
                                     self.stop_event, self.events, self.services, mounter)
        self.probes = ProbeManager(runtime, on_change=self._wake_all, clock=clock,
                                   on_failure=self._probe_failed)
        self.stats = StatsCollector(runtime, self._my_containers, interval=config.stats_period)
        self.heartbeat = Heartbeat(client, self.name, node_usage, period=config.heartbeat_period,
                                   report_period=config.node_status_report_period,
                                   on_ready_change=self._ready_changed,
                                   usage_report=self._usage_report)
        self.drain = EndpointDrain(client, timeout=config.drain_timeout, stop=self.stop_event)
        self.threads = Supervisor(f"node {self.name}", self.stop_event)
        # Pods bound here; the sync loop also lists them now and then. Lists come
        # from the masters' watch cache, except the one orphans are removed on.
        self.pods = Informer(client, "Pod", field_selector=f"spec.nodeName={self.name}",
                             watch_timeout=300, stale_list=True, name="pod-informer")
        self.pods.add_handler(lambda pod: self._pod_changed(None, pod), self._pod_changed,
                              self._pod_deleted)
        self.emptydirs = eviction.EmptyDirMonitor(
            config.data_dir, lambda: self._bound_pods().values(),
            config.emptydir_check_period, on_exceeded=self._wake_all)
        self.pod_cidr: str | None = None
        self.log_server: LogServer | None = None
        self._authenticate = authenticate or MasterTokens(self.name, master_keys(client))
        self._authenticate_metrics = authenticate or TokenCache(
            config.token, master_metrics_checker(config.masters, config.ca_file))
        self._records: dict[str, PodRecord] = {}  # uid -> record; the sync loop's alone
        # ... but for new pods: held while a pass dispatches, and by _start_new.
        self._records_lock = threading.Lock()
        self._listed_uids: set[str] | None = None  # pods with containers at the last pass
        self._own_versions = RecentVersions()  # resourceVersions of our own status writes
        self._listed_at: float | None = None  # monotonic time of the last successful list
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="pod")
        # What the next pass looks at: every pod (each sync_period, and when a
        # probe, a deletion or a full disk asks), else just the pods whose watch
        # events came since the last pass. A pass over all of a node's pods for
        # each pod's change was O(n²) pod syncs as a node filled up.
        self._scope_lock = threading.Lock()
        self._changed: set[str] = set()
        self._all_wanted = True
        self._next_full = 0.0  # time.monotonic() of the next full pass
        self.syncs = 0

    # ---- lifecycle -------------------------------------------------------

    @property
    def local_path_root(self) -> str:
        return os.path.join(self.config.data_dir, "local-path")

    @property
    def node_labels(self) -> dict[str, str]:
        return {podspec.LABEL_MANAGED: "true", podspec.LABEL_NODE: self.name}

    def start(self) -> bool:
        """Register, wait for a pod CIDR, set up the pod network and start the threads.
        Returns False if stopped before the node was ready."""
        stop = self.stop_event
        version = retry_forever("asking the container runtime for its version",
                                self.runtime.version, stop)
        if version is None:
            return False
        desired = node_object(self.config.node, MachineInfo.discover(version))
        desired["metadata"]["annotations"] = {LOCAL_PATH_ROOT: self.local_path_root}
        # downwardAPI resourceFieldRef: an unset limit reads as the node's allocatable
        self.executor.volumes.allocatable = dict(desired["status"]["allocatable"])
        if retry_forever(f"registering node {self.name}",
                         lambda: register(self.client, desired), stop) is None:
            return False
        self.heartbeat.reregister = lambda: register(self.client, desired)
        self.heartbeat.problem = self._runtime_problem
        log.info("node %s registered (%s)", self.name, version)
        self.pod_cidr = wait_for_pod_cidr(self.client, self.name, stop)
        if self.pod_cidr is None:
            return False
        net = ipaddress.ip_network(self.pod_cidr, strict=False)

        def make_network() -> bool:
            self.runtime.ensure_network(self.config.pod_network, str(net), str(net[1]))
            return True
        if retry_forever(f"creating pod network {self.config.pod_network} on {net}",
                         make_network, stop, catch=(Exception,)) is None:
            return False
        log.info("pod network %s on %s", self.config.pod_network, net)
        self.executor.pause_image = self.runtime.ensure_pause_image()
        if self.executor.pause_image is None:
            log.warning("no pause image: sandboxes run the pod's first image")
        private.private_dir(self.config.data_dir)  # pod volumes and tokens: root's only
        os.makedirs(os.path.join(self.config.data_dir, "pods"), exist_ok=True)
        self.threads.spawn("events", self.events.run)
        self.threads.spawn("heartbeat", self.heartbeat.run)
        self.threads.spawn("proxy-revision", self.heartbeat.run_publisher)
        self.threads.spawn("stats", self.stats.run)
        self.threads.spawn("pod-informer", self.pods.run)
        self.threads.spawn("service-informer", self.services.run)
        self.threads.spawn("emptydir-usage", self.emptydirs.run)
        if self.config.manage_network:
            network = NodeNetwork(self.name, self.config.cluster_cidr)
            network.setup(str(net))
            self.threads.spawn("routes", lambda stop: self._sync_routes(network, stop))
            if self.config.serve_dns:
                self._serve_dns(str(net[1]))
        if self.config.serve_logs:
            app = create_app(self.runtime, self._my_containers, self._authenticate,
                             self._authenticate_metrics)
            self.log_server = LogServer(
                AgentApp(app, self.runtime, self._my_containers, self._authenticate),
                self.config.node.address, self.config.node.port, app,
                tls=(self.config.tls_cert_file, self.config.tls_private_key_file)
                if self.config.tls_cert_file and self.config.tls_private_key_file else None)
            self.threads.spawn("logserver", self.log_server.serve)
            log.info("serving container logs on %s:%d", self.config.node.address,
                     self.log_server.port)
        self.threads.spawn("local-path", lambda stop: run_reclaimer(
            self.client, self.local_path_root, stop, self.config.local_path_reclaim_period))
        if self.config.run_proxy:
            address = self.config.node.address
            self.threads.spawn("netproxy", lambda stop: run_proxy(
                self.client, [address], stop, on_synced=self.heartbeat.publish_proxy_revision))
        return True

    def _serve_dns(self, address: str) -> None:
        """Cluster DNS for this node's pods, on the pod network's gateway."""
        endpoints = Informer(self.client, "Endpoints", watch_timeout=300, stale_list=True,
                            name="dns-endpoints")
        feed = ZoneFeed(self.services, endpoints, self.config.masters)
        try:
            server = DnsServer(feed.zone, address)
        except OSError as e:
            log.warning("cluster DNS not served on %s:53: %s; pods use the runtime's", address, e)
            return
        self.threads.spawn("dns-endpoints", endpoints.run)
        self.threads.spawn("dns", server.serve)
        self.executor.dns_server = address
        log.info("serving cluster DNS on %s:53", address)

    def run(self) -> None:
        """Start, then sync until ``stop()``; pods keep running after the agent exits."""
        try:
            if not self.start():
                return
            while not self.stop_event.is_set():
                self.wake.clear()  # before the scope is taken: no wake-up is missed
                only = self._take_scope()
                try:
                    self.sync_once(only)
                except Exception:  # noqa: BLE001 - the loop never dies (pods keep running)
                    log.exception("sync failed; trying again")
                self.wake.wait(max(0.0, self._next_full - time.monotonic()))
        finally:
            self.shutdown()

    def _take_scope(self) -> set[str] | None:
        """The pods the next pass syncs: None for all of them."""
        with self._scope_lock:
            now = time.monotonic()
            if self._all_wanted or now >= self._next_full:
                self._all_wanted, self._next_full = False, now + self.config.sync_period
                self._changed = set()
                return None
            only, self._changed = self._changed, set()
            return only

    def _wake_for(self, uid: str) -> None:
        """Have the loop sync this pod now."""
        with self._scope_lock:
            self._changed.add(uid)
        self.wake.set()

    def _wake_after(self, uid: str, _worker: Future[PodTask]) -> None:
        self._wake_for(uid)

    def _wake_all(self) -> None:
        """Have the loop make a full pass now."""
        with self._scope_lock:
            self._all_wanted = True
        self.wake.set()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()
        self.events.wake()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every thread and join them (pods keep running)."""
        self.stop_event.set()
        self.wake.set()
        self.events.wake()
        self.probes.stop()
        if self.log_server is not None:
            self.log_server.stop()
        with self._records_lock:  # _start_new submits no more
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.threads.join(timeout)

    def _probe_failed(self, target: ProbeTarget, kind: str, message: str) -> None:
        self.events.warning(target.pod, "Unhealthy", f"{kind.capitalize()} probe failed: {message}",
                            target.container.get("name", ""))

    def _ready_changed(self, node: Obj, ready: bool) -> None:
        reason = "NodeReady" if ready else "NodeNotReady"
        self.events.event(node, "Normal", reason, f"Node {self.name} status is now: {reason}")

    def _usage_report(self) -> str | None:
        report = self.stats.report()
        return report.encode() if report is not None else None

    def _runtime_problem(self) -> str | None:
        """Why pods cannot run here now (the node is then NotReady), or None."""
        try:
            self.runtime.version()
            return None
        except Exception as e:  # noqa: BLE001 - any failure means the runtime is down
            return f"container runtime is down: {e}"

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no pod worker is running, and fold in what they did
        (tests drive ``sync_once`` by hand, on the loop's behalf)."""
        with self._records_lock:
            workers = [r.worker for r in self._records.values() if r.worker is not None]
        if wait(workers, timeout).not_done:
            return False
        with self._records_lock:
            for r in self._records.values():
                r.collect()
        return True

    # ---- discovery -------------------------------------------------------

    def _my_containers(self) -> list[ContainerInfo]:
        return self.runtime.list_containers(self.node_labels)

    def _list_pods(self, consistent: bool = False) -> bool:
        """List the pods bound here into the informer; False if no master answered
        (the informer then keeps the last known set). ``consistent``: the latest
        state, not a master's watch cache (which may lag, or be cut off from the
        others)."""
        try:
            self.pods.relist(consistent)
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.debug("listing pods failed (keeping the last known set): %s", e)
            self._listed_at = None
            return False
        self._listed_at = time.monotonic()
        return True

    def _list_due(self) -> bool:
        """The watch keeps the informer current, so a pass lists the API only when
        the last list failed or is ``pod_relist_period`` old (a LIST per node per
        second is what loaded the masters of a 100-node cluster most)."""
        return self._listed_at is None or \
            time.monotonic() - self._listed_at >= self.config.pod_relist_period

    def _bound_pods(self) -> dict[str, Obj]:
        return {p["metadata"]["uid"]: p for p in self.pods.list()
                if (p.get("spec") or {}).get("nodeName") == self.name}

    def _pod_changed(self, old: Obj | None, pod: Obj) -> None:
        """Informer handler: wake the sync loop as soon as a pod bound here changes."""
        if not self._own_versions.own(old, pod) and not self._start_new(pod):
            self._wake_for(pod["metadata"]["uid"])  # our own status writes change nothing

    def _pod_deleted(self, pod: Obj) -> None:
        """Informer handler: a pod bound here is gone from the API. A pass over it
        alone clears what is left of it (kubelet's HandlePodRemoves), where a
        pass over every pod of the node did, for each deletion of a rollout."""
        uid = (pod.get("metadata") or {}).get("uid")
        if uid:
            self._wake_for(uid)
        else:
            self._wake_all()

    def _start_new(self, pod: Obj) -> bool:
        """Start a pod bound here that the agent has never seen: it has no
        containers (only its own workers create them), so its worker needs no
        listing of the node's containers, which can take a second or more on a
        busy node. Whether it was started."""
        uid = (pod.get("metadata") or {}).get("uid")
        if not uid or (pod.get("spec") or {}).get("nodeName") != self.name:
            return False
        with self._records_lock:
            if (self.stop_event.is_set() or self._listed_uids is None
                    or uid in self._listed_uids or uid in self._records):
                return False  # before the first pass, or known: the loop's business
            record = self._seen(uid)
            record.worker = self._pool.submit(self._pod_worker, record.task(pod, [], True))
            return True

    def _sync_routes(self, network: NodeNetwork, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                network.sync_routes(self.client.list("Node")["items"])
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                log.debug("listing nodes failed (routes unchanged): %s", e)
            except Exception:  # noqa: BLE001 - keep the thread alive
                log.exception("syncing routes failed")
            stop.wait(self.config.route_period)

    # ---- the loop ----------------------------------------------------------

    def sync_once(self, only: set[str] | None = None) -> None:
        """One pass: every pod bound here, and every container no pod owns; or
        (``only``) just these pods, as the pod watch shows them."""
        self.syncs += 1
        started = time.monotonic()
        if only is not None:
            self._sync_some(only, started)
            return
        listed = self._list_due()
        api_ok = self._list_pods() if listed else True
        pods = self._bound_pods()
        try:
            containers = self._my_containers()
        except Exception as e:  # noqa: BLE001 - Docker down: try again next pass
            log.warning("listing containers failed: %s", e)
            return
        by_uid: dict[str, list[ContainerInfo]] = {}
        for c in containers:
            by_uid.setdefault(c.pod_uid, []).append(c)
        if by_uid.keys() - pods.keys():
            # Containers of no known pod are removed only on a consistent list's word.
            api_ok = self._list_pods(consistent=True)
            pods = self._bound_pods()
        # Probers first, so a status written in this pass already has their verdicts.
        self.probes.sync(self._probe_targets(pods, by_uid))
        with self._records_lock:
            self._dispatch_all(pods, by_uid, api_ok, started)

    def _sync_some(self, uids: set[str], started: float) -> None:
        """A pass over the pods whose watch events came since the last: their
        own containers listed, not the node's; the rest left to the next full
        pass. A pod gone from the informer was deleted: the informer drops one
        only on its delete event or on a list without it, the API's word on
        that uid (which never comes back), so its containers are removed
        without the consistent list a full pass asks before removing those of
        pods it does not know."""
        bound = self._bound_pods()
        pods = {uid: pod for uid, pod in bound.items() if uid in uids}
        gone = uids - bound.keys()
        by_uid: dict[str, list[ContainerInfo]] = {}
        try:
            for uid in uids:
                by_uid[uid] = self.runtime.list_containers(
                    {podspec.LABEL_POD_UID: uid} | self.node_labels)
        except Exception as e:  # noqa: BLE001 - Docker down: the next full pass tries again
            log.warning("listing containers failed: %s", e)
            return
        self.probes.sync(self._probe_targets(pods, by_uid), only_pods=set(uids))
        api_ok = self._listed_at is not None  # the API answered the last list
        with self._records_lock:
            for uid, pod in pods.items():
                self._dispatch(self._seen(uid), pod, by_uid[uid], api_ok, started, changed=True)
            for uid in gone:
                self._clear(uid, by_uid[uid], started)

    def _clear(self, uid: str, containers: list[ContainerInfo], started: float) -> None:
        """What is left of a deleted pod: its containers stopped and removed by a
        worker, then (once no worker of it ran past a pass's start) its record dropped."""
        record = self._records.get(uid)
        if containers:
            record = self._record(uid)
            before = record.worker
            self._dispatch(record, None, containers, True, started, changed=True)
            if record.worker is not None and record.worker is not before:
                # a worker of its own: the pass after it drops the record
                record.worker.add_done_callback(functools.partial(self._wake_after, uid))
        elif record is not None:
            if not record.collect():
                assert record.worker is not None
                record.worker.add_done_callback(functools.partial(self._wake_after, uid))
            elif record.done_at > started:
                self._wake_for(uid)
            else:
                del self._records[uid]
                self.executor.forget(uid)

    def _dispatch_all(self, pods: dict[str, Obj], by_uid: dict[str, list[ContainerInfo]],
                      api_ok: bool, started: float) -> None:
        self._listed_uids = set(by_uid)
        for uid, pod in pods.items():
            self._dispatch(self._seen(uid), pod, by_uid.get(uid, []), api_ok, started)
        if api_ok:
            for uid in by_uid.keys() - pods.keys():
                self._dispatch(self._record(uid), None, by_uid[uid], api_ok, started)
            for uid, record in list(self._records.items()):
                # (a record _start_new made after this pass looked is kept)
                if (uid not in pods and uid not in by_uid and record.collect()
                        and record.done_at <= started):
                    del self._records[uid]
                    self.executor.forget(uid)

    def _record(self, uid: str) -> PodRecord:
        record = self._records.get(uid)
        if record is None:
            record = self._records[uid] = PodRecord(uid)
        return record

    def _seen(self, uid: str) -> PodRecord:
        """The record of a pod bound here, stamped when the agent first saw it
        (the start of the pod's startup latency)."""
        record = self._record(uid)
        if record.first_seen is None:
            record.first_seen = self.clock()
        return record

    def _probe_targets(self, pods: dict[str, Obj],
                       by_uid: dict[str, list[ContainerInfo]]) -> list[ProbeTarget]:
        targets = []
        for uid, pod in pods.items():
            if pod["metadata"].get("deletionTimestamp"):
                continue
            sandbox = podplan.current_sandbox(by_uid.get(uid, []))
            if sandbox is None or not sandbox.running:
                continue
            specs = {c["name"]: c for c in pod["spec"].get("containers") or []}
            ready = {s.get("containerID") for s in
                     (pod.get("status") or {}).get("containerStatuses") or [] if s.get("ready")}
            for c in by_uid.get(uid, []):
                spec = specs.get(c.container_name)
                if (c.running and not c.is_infra and spec is not None
                        and c.labels.get(podspec.LABEL_SANDBOX) == sandbox.id):
                    targets.append(ProbeTarget(c.id, pod["metadata"]["name"], spec, sandbox.ip,
                                               c.started_at or self.clock(),
                                               was_ready=f"docker://{c.id}" in ready, pod=pod))
        return targets

    def _dispatch(self, record: PodRecord, pod: Obj | None, containers: list[ContainerInfo],
                  api_ok: bool, observed_at: float, changed: bool = False) -> None:
        """Start a worker for the pod, unless one runs or our view of its
        containers is older than the last worker's changes. A pod ``changed``
        since the last pass is then synced again as soon as it can be (its
        change is not left for the next full pass)."""
        if not record.collect():
            if changed:
                assert record.worker is not None
                record.worker.add_done_callback(functools.partial(self._wake_after, record.uid))
            return
        if record.done_at > observed_at:
            if changed:
                self._wake_for(record.uid)
            return
        record.worker = self._pool.submit(self._pod_worker,
                                          record.task(pod, containers, api_ok))

    def _pod_worker(self, task: PodTask) -> PodTask:
        POD_SYNCS.inc()
        try:
            with POD_SYNC_SECONDS.time():
                self.sync_pod(task)
        except OSError as e:  # the runtime's socket (requests/docker errors are OSErrors)
            log.warning("syncing pod %s: container runtime unavailable: %s",
                        pod_ref(task.pod, task.uid), e)
        except Exception:  # noqa: BLE001 - one pod's failure must not stop the agent
            log.exception("syncing pod %s failed", pod_ref(task.pod, task.uid))
        task.finished_at = time.monotonic()
        return task

    # ---- one pod -----------------------------------------------------------

    def sync_pod(self, task: PodTask) -> None:
        """Drive one pod (on a worker thread); results go into ``task``."""
        uid, pod, containers, api_ok = task.uid, task.pod, task.containers, task.api_ok
        if pod is not None and api_ok:
            evict = eviction.decide(pod, self.emptydirs.usage(uid))
            if evict is not None:
                pod = self._evict(task, pod, evict)
        plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                self.probes.unhealthy())
        terminating = pod is not None and bool(pod["metadata"].get("deletionTimestamp"))
        # New: ContainerCreating while images are pulled (with every image present the
        # pod goes from Pending to Running in one write).
        fresh = pod is not None and not (pod.get("status") or {}).get("containerStatuses") \
            and self._pulls_first(pod)
        creating = None
        if pod is not None and terminating and api_ok:
            # Not ready first, so the pod leaves its Services before it is stopped.
            self._report(task, pod, containers, plan)
        elif pod is not None and fresh and api_ok:
            # ContainerCreating while images are pulled: written beside the start, which
            # need not wait for the API (joined before the status that follows).
            status = self._status(task, pod, containers, plan)
            if status is not None:
                creating = threading.Thread(target=self._write_quietly, args=(task, pod, status),
                                            name=f"creating-{uid[:8]}", daemon=True)
                creating.start()
        try:
            deleted, plan = self._apply(task, pod, containers, plan, terminating)
        finally:
            if creating is not None:
                creating.join()
        if pod is None or deleted or not api_ok:
            return
        if not terminating and podplan.current_sandbox(containers) is not None:
            self.executor.volumes.refresh(pod)  # ConfigMap/Secret changes reach the files
        if plan.actions:
            containers = self.runtime.list_containers({podspec.LABEL_POD_UID: uid}
                                                      | self.node_labels)
            plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                    self.probes.unhealthy())
            plan.actions = []
        self._report(task, pod, containers, plan)

    def _apply(self, task: PodTask, pod: Obj | None, containers: list[ContainerInfo],
               plan: podplan.PodPlan, terminating: bool) -> tuple[bool, podplan.PodPlan]:
        """Drain a terminating pod, then carry out its plan: (whether the pod
        object was deleted, the plan carried out)."""
        uid, api_ok = task.uid, task.api_ok
        if terminating and api_ok and not task.drained and pod is not None:
            # Wait until no proxy can still send it a new connection (node/drain.py),
            # spending at most half of what is left of its grace period.
            budget = podplan.termination_grace(pod, self.clock()) / 2
            # lists not older than the not-ready status just written (task.stored)
            self.drain.wait(pod, budget, at=newest_version(pod, task.stored))
            task.drained = True
            plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                    self.probes.unhealthy())
        if pod is not None:
            for name, (reason, _) in plan.waiting.items():
                if reason == "CrashLoopBackOff":
                    self.events.warning(pod, "BackOff", f"Back-off restarting failed container "
                                        f"{name} in pod {pod_ref(pod, uid)}", name)
        return self.executor.apply(uid, pod, containers, plan, task.waiting), plan

    def _pulls_first(self, pod: Obj) -> bool:
        """Whether starting ``pod`` waits for an image to be pulled."""
        spec = pod.get("spec") or {}
        for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            policy = c.get("imagePullPolicy") or "IfNotPresent"
            if policy == "Always" or policy != "Never" and not self.runtime.has_image(
                    c.get("image", "")):
                return True
        return False

    def _evict(self, task: PodTask, pod: Obj, evict: eviction.Eviction) -> Obj:
        """Mark the pod Failed/Evicted; the plan for a finished pod then stops it."""
        log.info("evicting pod %s: %s", pod_ref(pod, task.uid), evict.message)
        self.events.warning(pod, eviction.REASON, evict.message)
        status = eviction.evicted_status(pod.get("status") or {}, evict.message,
                                         rfc3339(self.clock()) or "")
        self._write_status(task, pod, status)
        return {**pod, "status": status}

    def _report(self, task: PodTask, pod: Obj, containers: list[ContainerInfo],
                plan: podplan.PodPlan) -> None:
        status = self._status(task, pod, containers, plan)
        if status is not None:
            self._write_status(task, pod, status)

    def _status(self, task: PodTask, pod: Obj, containers: list[ContainerInfo],
                plan: podplan.PodPlan) -> Obj | None:
        """The pod's status as observed now; None if it is already written."""
        specs = {c["name"]: c for c in pod["spec"].get("containers") or []}
        obs = Observed(
            containers=containers, host_ip=self.config.node.address, now=self.clock(),
            waiting=task.waiting | plan.waiting,
            ready={c.id: self.probes.ready(c.id, specs.get(c.container_name))
                   for c in containers if c.running},
            started={c.id: self.probes.started(c.id, specs.get(c.container_name))
                     for c in containers if c.running},
            start_time=task.first_seen,
        )
        status = pod_status(pod, obs)
        if status == pod.get("status") or status == task.written:
            return None
        return status

    def _write_quietly(self, task: PodTask, pod: Obj, status: Obj) -> None:
        try:
            self._write_status(task, pod, status)
        except Exception:  # noqa: BLE001 - on its own thread: logged as the worker would
            log.exception("writing status of pod %s failed", pod_ref(pod, task.uid))

    def _write_status(self, task: PodTask, pod: Obj, status: Obj) -> None:
        uid = pod["metadata"]["uid"]
        current = starting_with(task.stored or pod, lambda: self.client.get(
            "Pod", pod["metadata"]["name"], pod["metadata"].get("namespace")))

        def attempt() -> None:
            cur = current()
            if cur["metadata"].get("uid") != uid:
                return
            obj = {**cur, "status": status}  # all else shared: only sent, never changed
            self._own_versions.writing(uid, status)
            stored = self.client.update_status(obj) or {}
            task.written = status
            if (stored.get("metadata") or {}).get("uid") == uid:
                task.stored = stored
            rv = (stored.get("metadata") or {}).get("resourceVersion")
            if rv:
                self._own_versions.add(rv)
        try:
            retry_on_conflict(attempt)
        except errors.NotFound:
            return
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.warning("writing status of pod %s failed: %s", pod_ref(pod, uid), e)
        finally:
            self._own_versions.writing(uid, None)
