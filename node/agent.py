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
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from coxapi import errors
from coxapi.client import Client

from . import podplan, podspec
from .backoff import Backoff
from .heartbeat import Heartbeat
from .logserver import LogServer, TokenCache, create_app, master_checker
from .network import NodeNetwork
from .prober import ProbeManager, ProbeTarget, run_check
from .registration import (
    MachineInfo,
    NodeConfig,
    node_object,
    register,
    retry_forever,
    wait_for_pod_cidr,
)
from .runtime import ContainerInfo, ImagePullError, Runtime, RuntimeFailure
from .stats import StatsCollector, node_usage
from .status import Observed, pod_status

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class AgentConfig:
    node: NodeConfig
    data_dir: str
    masters: list[str] = field(default_factory=list)
    token: str = ""
    pod_network: str = "cox-pods"
    cluster_cidr: str = "10.244.0.0/16"
    sync_period: float = 1.0
    heartbeat_period: float = 5.0
    stats_period: float = 5.0
    route_period: float = 3.0
    manage_network: bool = True  # routes, masquerade, ip_forward in our namespace
    serve_logs: bool = True
    run_proxy: bool = True
    extra_labels: dict[str, str] = field(default_factory=dict)  # stamped on every container


class _Waiting(Exception):
    """A container cannot start yet; carries the waiting reason to report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


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
        self.pull_backoff = Backoff(clock)
        self.probes = ProbeManager(runtime, on_change=self.wake.set, clock=clock)
        self.stats = StatsCollector(runtime, self._my_containers, interval=config.stats_period)
        self.heartbeat = Heartbeat(client, self.name, node_usage, period=config.heartbeat_period)
        self.pod_cidr: str | None = None
        self.pause_image: str | None = None
        self.log_server: LogServer | None = None
        self._authenticate = authenticate or TokenCache(config.token,
                                                        master_checker(config.masters))
        self._pods: dict[str, Obj] = {}  # uid -> pod, from the last successful list
        self._waiting: dict[str, dict[str, tuple[str, str]]] = {}  # uid -> name -> reason
        self._pull_failed_at: dict[str, float] = {}
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
        self.pause_image = self.runtime.ensure_pause_image()
        if self.pause_image is None:
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
        self._spawn("netproxy", lambda stop: run_proxy(self.client, [address], stop))

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
        except Exception:  # noqa: BLE001 - one pod's failure must not stop the agent
            log.exception("syncing pod %s failed", _pod_ref(pod, uid))
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
        deleted = self._apply(uid, pod, containers, plan)
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
            waiting=self._waiting.get(uid, {}) | plan.waiting,
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
        obj = copy.deepcopy(pod)
        obj["status"] = status
        for _ in range(3):
            try:
                stored = self.client.update_status(obj) or {}
                self._written[uid] = status
                rv = (stored.get("metadata") or {}).get("resourceVersion")
                if rv:
                    self._own_versions.append(rv)
                return
            except errors.Conflict:
                try:
                    obj = self.client.get("Pod", pod["metadata"]["name"],
                                          pod["metadata"].get("namespace"))
                except errors.NotFound:
                    return
                if obj["metadata"].get("uid") != uid:
                    return
                obj["status"] = status
            except errors.NotFound:
                return
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                log.warning("writing status of pod %s failed: %s", _pod_ref(pod, uid), e)
                return

    # ---- applying a plan -----------------------------------------------------

    def _apply(self, uid: str, pod: Obj | None, containers: list[ContainerInfo],
               plan: podplan.PodPlan) -> bool:
        """Carry out the plan; returns True once the pod object was deleted."""
        sandbox = podplan.current_sandbox(containers)
        sandbox = sandbox if sandbox is not None and sandbox.running else None
        actions = list(plan.actions)
        while actions:
            action = actions.pop(0)
            if isinstance(action, podplan.KillContainer):
                kills = [action]
                while actions and isinstance(actions[0], podplan.KillContainer):
                    kills.append(actions.pop(0))  # type: ignore[arg-type]
                self._kill_all(pod, containers, kills)
            elif isinstance(action, podplan.RemoveContainer):
                self._quietly(self.runtime.remove, action.container_id)
            elif isinstance(action, podplan.StartSandbox):
                assert pod is not None
                sandbox = self._start_sandbox(pod, action.attempt)
                if sandbox is None:
                    return False
            elif isinstance(action, podplan.StartContainer):
                assert pod is not None
                if sandbox is not None:
                    self._start_container(pod, action, sandbox)
            elif isinstance(action, podplan.RemovePodDir):
                shutil.rmtree(podspec.pod_dir(self.config.data_dir, uid), ignore_errors=True)
            elif isinstance(action, podplan.DeletePod):
                assert pod is not None
                if self._delete_pod(pod):
                    self._forget(uid)
                    return True
        return False

    def _quietly(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except RuntimeFailure as e:
            log.warning("%s%s failed: %s", fn.__name__, args, e)

    def _kill_all(self, pod: Obj | None, containers: list[ContainerInfo],
                  kills: list[podplan.KillContainer]) -> None:
        """Stop containers in parallel: each gets the whole grace period."""
        by_id = {c.id: c for c in containers}
        threads = [threading.Thread(target=self._kill, args=(pod, containers,
                                                             by_id.get(k.container_id), k))
                   for k in kills]
        for k in kills:
            log.info("stopping container %s (%s, grace %.0fs)", k.container_id[:12], k.reason,
                     k.grace)
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _kill(self, pod: Obj | None, containers: list[ContainerInfo],
              info: ContainerInfo | None, kill: podplan.KillContainer) -> None:
        """kubelet's killContainer: the preStop hook, then SIGTERM with what is left of
        the grace period (at least 2 s), then SIGKILL."""
        grace = kill.grace
        spec = None
        if pod is not None and info is not None and info.running and not info.is_infra:
            spec = next((c for c in pod["spec"].get("containers") or []
                         if c["name"] == info.container_name), None)
        hook = ((spec or {}).get("lifecycle") or {}).get("preStop")
        if hook and info is not None and grace > 0:
            started = self.clock()
            sandbox = podplan.current_sandbox(containers)
            self._run_hook(hook, info, spec or {}, sandbox.ip if sandbox else "", grace)
            grace = max(2.0, grace - (self.clock() - started))
        self._quietly(self.runtime.stop, kill.container_id, grace)

    def _run_hook(self, hook: Obj, info: ContainerInfo, spec: Obj, pod_ip: str,
                  timeout: float) -> None:
        if "sleep" in hook:
            self.stop_event.wait(min(timeout, float(hook["sleep"].get("seconds", 0))))
            return
        target = ProbeTarget(info.id, info.labels.get(podspec.LABEL_POD_NAME, ""), spec, pod_ip,
                             info.started_at or 0)
        ok, message = run_check(self.runtime, target, hook, timeout)
        if not ok:
            log.info("preStop hook of %s failed: %s", info.name, message)

    def _set_waiting(self, uid: str, name: str, reason: str, message: str) -> None:
        self._waiting.setdefault(uid, {})[name] = (reason, message)

    def _clear_waiting(self, uid: str, name: str) -> None:
        self._waiting.get(uid, {}).pop(name, None)

    def _start_sandbox(self, pod: Obj, attempt: int) -> ContainerInfo | None:
        uid = pod["metadata"]["uid"]
        first = (pod["spec"].get("containers") or [{}])[0]
        try:
            if self.pause_image is None:
                self._ensure_image(uid, first)
            spec = podspec.infra_spec(pod, self.name, attempt, self.config.pod_network,
                                      self.pause_image, self.config.extra_labels)
            for path in podspec.host_dirs(pod, self.config.data_dir):
                os.makedirs(path, exist_ok=True)
            cid = self.runtime.run(spec)
        except _Waiting as w:
            self._set_waiting(uid, first.get("name", ""), w.reason, w.message)
            return None
        except (podspec.ConfigError, RuntimeFailure, OSError) as e:
            log.warning("creating the sandbox of pod %s failed: %s", _pod_ref(pod, uid), e)
            for c in pod["spec"].get("containers") or []:
                self._set_waiting(uid, c["name"], "ContainerCreating",
                                  f"failed to create pod sandbox: {e}")
            return None
        log.info("pod %s: sandbox %s started", _pod_ref(pod, uid), cid[:12])
        return self.runtime.inspect(cid)

    def _start_container(self, pod: Obj, action: podplan.StartContainer,
                         sandbox: ContainerInfo) -> None:
        uid = pod["metadata"]["uid"]
        spec = next((c for c in pod["spec"].get("containers") or []
                     if c["name"] == action.name), None)
        if spec is None:
            return
        try:
            self._ensure_image(uid, spec)
            cspec = podspec.app_spec(pod, spec, self.name, action.attempt, sandbox.id,
                                     self.config.data_dir, self._resolve, sandbox.ip,
                                     self.config.node.address, self.config.extra_labels)
        except _Waiting as w:
            self._set_waiting(uid, action.name, w.reason, w.message)
            return
        except podspec.ConfigError as e:
            self._set_waiting(uid, action.name, "CreateContainerConfigError", str(e))
            return
        try:
            cid = self.runtime.run(cspec)
        except RuntimeFailure as e:
            self._set_waiting(uid, action.name, "CreateContainerError", str(e))
            return
        self._clear_waiting(uid, action.name)
        if action.crash_restart:
            self.backoff.retried(podplan.backoff_key(uid, action.name))
        log.info("pod %s: container %s started (%s, attempt %d)", _pod_ref(pod, uid),
                 action.name, cid[:12], action.attempt)

    def _ensure_image(self, uid: str, container: Obj) -> None:
        image = container.get("image", "")
        policy = container.get("imagePullPolicy") or "IfNotPresent"
        present = self.runtime.has_image(image)
        if policy == "Never":
            if present:
                return
            raise _Waiting("ErrImageNeverPull", f'Container image "{image}" is not present '
                           "with pull policy of Never")
        if policy == "IfNotPresent" and present:
            return
        key = f"{uid}/{container.get('name')}/{image}"
        if self.pull_backoff.remaining(key, self._pull_failed_at.get(key, 0.0)) > 0:
            raise _Waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
        try:
            self.runtime.pull(image)
        except ImagePullError as e:
            self.pull_backoff.retried(key)
            self._pull_failed_at[key] = self.clock()
            log.info("pulling %s for pod %s failed: %s", image, uid, e)
            raise _Waiting("ErrImagePull", f'Failed to pull image "{image}": {e}') from None
        self.pull_backoff.forget(key)

    def _resolve(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.client.get(kind, name, namespace)
        except errors.NotFound:
            return None
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            raise podspec.ConfigError(f"reading {kind.lower()} {namespace}/{name}: {e}") from None

    def _delete_pod(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta.get('namespace') or 'default'}/pods/{meta['name']}"
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                "preconditions": {"uid": meta["uid"]}}
        try:
            self.client.request("DELETE", path, body=body)
        except (errors.NotFound, errors.Conflict):
            pass
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.warning("deleting pod %s failed (will retry): %s", _pod_ref(pod, meta["uid"]), e)
            return False
        log.info("pod %s stopped and deleted", _pod_ref(pod, meta["uid"]))
        return True

    def _forget(self, uid: str) -> None:
        for table in (self._waiting, self._written, self._first_seen, self._done_at):
            table.pop(uid, None)
        for key in self.backoff.tracked():
            if key.startswith(uid + "/"):
                self.backoff.forget(key)
        for key in [k for k in self._pull_failed_at if k.startswith(uid + "/")]:
            self._pull_failed_at.pop(key, None)
            self.pull_backoff.forget(key)


def _pod_ref(pod: Obj | None, uid: str) -> str:
    if pod is None:
        return f"(deleted, uid {uid})"
    return f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
