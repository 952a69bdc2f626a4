"""The node agent: discover state, compute the plan (pure), apply it — in a loop.

Threads: the sync loop (here), one worker per pod being changed (so a long
graceful stop of one pod never holds up the others), the heartbeat, the stats
sampler, the probers, a pod watch that wakes the loop early, the route
syncer, the log server and (optionally) the service proxy.

When no master answers, the loop keeps driving the pods it last knew about
(restarting crashed containers, probing) and writes nothing; containers are
only ever removed as orphans after a successful list from the API, so an
unreachable API never kills a pod.
"""

from __future__ import annotations

import copy
import ipaddress
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.retry import retry_on_conflict, starting_with

from . import podplan, podspec
from .backoff import Backoff
from .config import AgentConfig
from .drain import EndpointDrain
from .executor import PlanExecutor, pod_ref
from .heartbeat import Heartbeat
from .logserver import LogServer, TokenCache, create_app, master_checker
from .network import NodeNetwork
from .prober import ProbeManager, ProbeTarget
from .registration import MachineInfo, node_object, register, retry_forever, wait_for_pod_cidr
from .runtime import ContainerInfo, Runtime
from .stats import StatsCollector, node_usage
from .status import Observed, pod_status

log = logging.getLogger(__name__)
Obj = dict[str, Any]


__all__ = ["Agent", "AgentConfig"]


class Agent:
    def __init__(self, config: AgentConfig, client: Client, runtime: Runtime,
                 clock: Callable[[], float] = time.time,
                 authenticate: Callable[[str], bool] | None = None) -> None:
        self.config = config
        self.name = config.node.name
        self.client = client
        self.runtime = runtime
        self.clock = clock
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self.backoff = Backoff(clock)
        self.executor = PlanExecutor(config, client, runtime, clock, self.backoff,
                                     self.stop_event)
        self.probes = ProbeManager(runtime, on_change=self.wake.set, clock=clock)
        self.stats = StatsCollector(runtime, self._my_containers, interval=config.stats_period)
        self.heartbeat = Heartbeat(client, self.name, node_usage, period=config.heartbeat_period)
        self.drain = EndpointDrain(client, timeout=config.drain_timeout, stop=self.stop_event)
        self._drained: set[str] = set()  # uids of terminating pods no proxy sends to any more
        self.pod_cidr: str | None = None
        self.log_server: LogServer | None = None
        self._authenticate = authenticate or TokenCache(config.token,
                                                        master_checker(config.masters))
        self._pods: dict[str, Obj] = {}  # uid -> pod, from the last successful list
        self._written: dict[str, Obj] = {}  # uid -> status we last wrote
        self._first_seen: dict[str, float] = {}
        self._own_versions: deque[str] = deque(maxlen=256)  # resourceVersions we wrote
        self._busy: set[str] = set()
        self._done_at: dict[str, float] = {}  # uid -> when its last worker finished
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="pod")
        self._threads: list[threading.Thread] = []
        self.syncs = 0

    # ---- lifecycle -------------------------------------------------------

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
        if retry_forever(f"creating pod network {self.config.pod_network} on {net}",
                         lambda: self.runtime.ensure_network(self.config.pod_network, str(net),
                                                             str(net[1])) or True,
                         stop, catch=(Exception,)) is None:
            return False
        log.info("pod network %s on %s", self.config.pod_network, net)
        self.executor.pause_image = self.runtime.ensure_pause_image()
        if self.executor.pause_image is None:
            log.warning("no pause image: sandboxes run the pod's first image")
        os.makedirs(os.path.join(self.config.data_dir, "pods"), exist_ok=True)
        self._spawn("heartbeat", self.heartbeat.run)
        self._spawn("stats", self.stats.run)
        self._spawn("pod-watch", self._watch_pods)
        if self.config.manage_network:
            network = NodeNetwork(self.name, self.config.cluster_cidr)
            network.setup(str(net))
            self._spawn("routes", lambda stop: self._sync_routes(network, stop))
        if self.config.serve_logs:
            app = create_app(self.runtime, self._my_containers, self._authenticate)
            self.log_server = LogServer(app, self.config.node.address, self.config.node.port)
            self.log_server.start()
            log.info("serving container logs on %s:%d", self.config.node.address,
                     self.log_server.port)
        if self.config.run_proxy:
            self._start_proxy()
        return True

    def run(self) -> None:
        """Start, then sync until ``stop()``; pods keep running after the agent exits."""
        try:
            if not self.start():
                return
            while not self.stop_event.is_set():
                try:
                    self.sync_once()
                except Exception:  # noqa: BLE001 - the loop never dies (pods keep running)
                    log.exception("sync failed; trying again")
                self.wake.wait(self.config.sync_period)
                self.wake.clear()
        finally:
            self.shutdown()

    def stop(self) -> None:
        self.stop_event.set()
        self.wake.set()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.probes.stop()
        if self.log_server is not None:
            self.log_server.stop()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _runtime_problem(self) -> str | None:
        """Why pods cannot run here now (the node is then NotReady), or None."""
        try:
            self.runtime.version()
            return None
        except Exception as e:  # noqa: BLE001 - any failure means the runtime is down
            return f"container runtime is down: {e}"

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no pod worker is running (tests drive ``sync_once`` by hand)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy:
                    return True
            time.sleep(0.01)
        return False

    def _spawn(self, name: str, target: Callable[[threading.Event], None]) -> None:
        t = threading.Thread(target=target, args=(self.stop_event,), daemon=True, name=name)
        t.start()
        self._threads.append(t)

    def _start_proxy(self) -> None:
        try:
            from netproxy.proxy import run_proxy  # type: ignore[import-not-found]
        except ImportError as e:
            log.warning("netproxy is not available (%s): Services are not programmed on this "
                        "node", e)
            return
        address = self.config.node.address
        self._spawn("netproxy", lambda stop: run_proxy(
            self.client, [address], stop, on_synced=self.heartbeat.publish_proxy_revision))

    # ---- discovery -------------------------------------------------------

    def _my_containers(self) -> list[ContainerInfo]:
        return self.runtime.list_containers(self.node_labels)

    def _list_pods(self) -> dict[str, Obj] | None:
        try:
            items = self.client.list("Pod", field_selector=f"spec.nodeName={self.name}")["items"]
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.debug("listing pods failed (keeping the last known set): %s", e)
            return None
        return {p["metadata"]["uid"]: p for p in items
                if (p.get("spec") or {}).get("nodeName") == self.name}

    def _watch_pods(self, stop: threading.Event) -> None:
        """Wake the sync loop as soon as a pod bound here changes."""
        while not stop.is_set():
            try:
                for _, pod in self.client.watch("Pod", timeout_seconds=300,
                                                field_selector=f"spec.nodeName={self.name}"):
                    rv = (pod.get("metadata") or {}).get("resourceVersion")
                    if rv not in self._own_versions:  # our own status writes change nothing
                        self.wake.set()
                    if stop.is_set():
                        return
            except Exception as e:  # noqa: BLE001 - any failure: wait, then watch again
                log.debug("pod watch ended: %s", e)
            stop.wait(2.0)

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

    def sync_once(self) -> None:
        """One pass: every pod bound here, and every container no pod owns."""
        self.syncs += 1
        started = time.monotonic()
        listed = self._list_pods()
        api_ok = listed is not None
        if api_ok:
            self._pods = listed
        try:
            containers = self._my_containers()
        except Exception as e:  # noqa: BLE001 - Docker down: try again next pass
            log.warning("listing containers failed: %s", e)
            return
        by_uid: dict[str, list[ContainerInfo]] = {}
        for c in containers:
            by_uid.setdefault(c.pod_uid, []).append(c)
        # Probers first, so a status written in this pass already has their verdicts.
        self.probes.sync(self._probe_targets(by_uid))
        for uid, pod in self._pods.items():
            self._first_seen.setdefault(uid, self.clock())
            self._dispatch(uid, pod, by_uid.get(uid, []), api_ok, started)
        if api_ok:
            for uid in by_uid.keys() - self._pods.keys():
                self._dispatch(uid, None, by_uid[uid], api_ok, started)
            with self._lock:
                known = set(self._first_seen) | set(self._done_at)
            for uid in known - self._pods.keys() - by_uid.keys() - self._busy:
                self._forget(uid)

    def _probe_targets(self, by_uid: dict[str, list[ContainerInfo]]) -> list[ProbeTarget]:
        targets = []
        for uid, pod in self._pods.items():
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
                                               was_ready=f"docker://{c.id}" in ready))
        return targets

    def _dispatch(self, uid: str, pod: Obj | None, containers: list[ContainerInfo],
                  api_ok: bool, observed_at: float) -> None:
        with self._lock:
            # Busy, or changed by a worker since we looked: our view is stale, next pass.
            if uid in self._busy or self._done_at.get(uid, 0.0) > observed_at:
                return
            self._busy.add(uid)
        self._pool.submit(self._pod_worker, uid, pod, containers, api_ok)

    def _pod_worker(self, uid: str, pod: Obj | None, containers: list[ContainerInfo],
                    api_ok: bool) -> None:
        try:
            self.sync_pod(uid, pod, containers, api_ok)
        except OSError as e:  # the runtime's socket (requests/docker errors are OSErrors)
            log.warning("syncing pod %s: container runtime unavailable: %s",
                        pod_ref(pod, uid), e)
        except Exception:  # noqa: BLE001 - one pod's failure must not stop the agent
            log.exception("syncing pod %s failed", pod_ref(pod, uid))
        finally:
            with self._lock:
                self._busy.discard(uid)
                self._done_at[uid] = time.monotonic()

    # ---- one pod -----------------------------------------------------------

    def sync_pod(self, uid: str, pod: Obj | None, containers: list[ContainerInfo],
                 api_ok: bool) -> None:
        plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                self.probes.unhealthy())
        terminating = pod is not None and bool(pod["metadata"].get("deletionTimestamp"))
        fresh = pod is not None and not (pod.get("status") or {}).get("containerStatuses")
        if (terminating or fresh) and api_ok:
            # Terminating: not ready first, so the pod leaves its Services before it is
            # stopped. New: ContainerCreating while images are pulled.
            self._report(pod, containers, plan)
        if terminating and api_ok and uid not in self._drained and pod is not None:
            # Then wait until no proxy can still send it a new connection (node/drain.py),
            # spending at most half of what is left of its grace period.
            budget = podplan.termination_grace(pod, self.clock()) / 2
            self.drain.wait(pod, budget)
            self._drained.add(uid)
            plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                    self.probes.unhealthy())
        deleted = self.executor.apply(uid, pod, containers, plan)
        if pod is None or deleted or not api_ok:
            return
        if plan.actions:
            containers = self.runtime.list_containers({podspec.LABEL_POD_UID: uid}
                                                      | self.node_labels)
            plan = podplan.plan_pod(pod, containers, self.clock(), self.backoff,
                                    self.probes.unhealthy())
            plan.actions = []
        self._report(pod, containers, plan)

    def _report(self, pod: Obj, containers: list[ContainerInfo], plan: podplan.PodPlan) -> None:
        uid = pod["metadata"]["uid"]
        obs = Observed(
            containers=containers, host_ip=self.config.node.address, now=self.clock(),
            waiting=self.executor.waiting.get(uid, {}) | plan.waiting,
            ready={c.id: self.probes.ready(c.id) for c in containers if c.running},
            started={c.id: self.probes.started(c.id) for c in containers if c.running},
            usage=self.stats.pod_usage(uid), start_time=self._first_seen.get(uid),
        )
        status = pod_status(pod, obs)
        if status == pod.get("status") or status == self._written.get(uid):
            return
        self._write_status(pod, status)

    def _write_status(self, pod: Obj, status: Obj) -> None:
        uid = pod["metadata"]["uid"]
        current = starting_with(pod, lambda: self.client.get(
            "Pod", pod["metadata"]["name"], pod["metadata"].get("namespace")))

        def attempt() -> None:
            obj = copy.deepcopy(current())
            if obj["metadata"].get("uid") != uid:
                return
            obj["status"] = status
            stored = self.client.update_status(obj) or {}
            self._written[uid] = status
            rv = (stored.get("metadata") or {}).get("resourceVersion")
            if rv:
                self._own_versions.append(rv)
        try:
            retry_on_conflict(attempt)
        except errors.NotFound:
            return
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.warning("writing status of pod %s failed: %s", pod_ref(pod, uid), e)

    # ---- applying a plan -----------------------------------------------------

    def _forget(self, uid: str) -> None:
        for table in (self._written, self._first_seen, self._done_at):
            table.pop(uid, None)
        self._drained.discard(uid)
        self.executor.forget(uid)
