"""Carries out a pod's plan: starts sandboxes and containers (pulling images by
their pull policy), stops containers (preStop hook, SIGTERM, SIGKILL), removes
them, and deletes the pod object once it is fully stopped.

Why a container could not start is recorded as its waiting reason
(``ErrImagePull``, ``ImagePullBackOff``, ``CreateContainerConfigError``, ...)
in the ``waiting`` map the caller passes in (the pod record's, carried by
the worker's task) for the status; image pulls back off like container
restarts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.client import Client
from coxapi.informer import Informer

from . import podplan, podspec, satoken, serviceenv
from .backoff import Backoff
from .config import AgentConfig
from .events import NodeEvents
from .metrics import CONTAINER_RESTARTS
from .prober import ProbeTarget, run_check
from .projection import MountError
from .runtime import ContainerInfo, ImagePullError, Runtime, RuntimeFailure
from .volumes import Mounter, TmpfsMounter, VolumeManager

log = logging.getLogger(__name__)
Obj = dict[str, Any]
Waiting = dict[str, tuple[str, str]]  # container name -> (reason, message)


class _Waiting(Exception):
    """A container cannot start yet; carries the waiting reason to report."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class PlanExecutor:
    def __init__(self, config: AgentConfig, client: Client, runtime: Runtime,
                 clock: Callable[[], float], backoff: Backoff,
                 stop_event: threading.Event, events: NodeEvents, services: Informer,
                 mounter: Mounter | None = None,
                 allocatable: dict[str, str] | None = None) -> None:
        self.config = config
        self.client = client
        self.runtime = runtime
        self.clock = clock
        self.backoff = backoff  # container restarts: recorded here, consulted by the plan
        self.pull_backoff = Backoff(clock)
        self.stop_event = stop_event
        self.events = events
        self.pause_image: str | None = None
        self.dns_server: str | None = None  # the node's cluster DNS address, once it serves
        self._pull_failed_at: dict[str, float] = {}
        self.volumes = VolumeManager(config.data_dir, self._resolve, mounter or TmpfsMounter(),
                                     allocatable, refresh_period=config.volume_refresh_period)
        self.services = services  # every Service, for the containers' environment

    def apply(self, uid: str, pod: Obj | None, containers: list[ContainerInfo],
              plan: podplan.PodPlan, waiting: Waiting) -> bool:
        """Carry out the plan, keeping ``waiting`` (container name -> why it is
        not running) up to date; returns True once the pod object was deleted."""
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
                sandbox = self._start_sandbox(pod, action.attempt, waiting)
                if sandbox is None:
                    return False
            elif isinstance(action, podplan.StartContainer):
                assert pod is not None
                if sandbox is not None:
                    self._start_container(pod, action, sandbox, waiting)
            elif isinstance(action, podplan.RemovePodDir):
                self.volumes.teardown(uid)
            elif isinstance(action, podplan.DeletePod):
                assert pod is not None
                if self._delete_pod(pod):
                    self.forget(uid)
                    waiting.clear()
                    return True
        return False

    def _quietly(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            fn(*args)
        except RuntimeFailure as e:
            log.warning("%s%s failed: %s", fn.__name__, args, e)

    def _kill_all(self, pod: Obj | None, containers: list[ContainerInfo],
                  kills: list[podplan.KillContainer]) -> None:
        """Stop app containers in parallel (each gets the whole grace period), and
        only then sandboxes, which hold the network the apps drain connections on."""
        by_id = {c.id: c for c in containers}
        apps = [k for k in kills if not (by_id.get(k.container_id) and
                                         by_id[k.container_id].is_infra)]
        sandboxes = [k for k in kills if k not in apps]
        for group in (apps, sandboxes):
            for k in group:
                log.info("stopping container %s (%s, grace %.0fs)", k.container_id[:12],
                         k.reason, k.grace)
            if len(group) == 1:  # most pods: one app, one sandbox; no thread to start
                self._kill(pod, containers, by_id.get(group[0].container_id), group[0])
                continue
            threads = [threading.Thread(target=self._kill, args=(
                pod, containers, by_id.get(k.container_id), k)) for k in group]
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
        if pod is not None and info is not None and info.running and not info.is_infra:
            self.events.normal(pod, "Killing", _kill_message(info.container_name, kill.reason),
                               info.container_name)
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

    def _start_sandbox(self, pod: Obj, attempt: int, waiting: Waiting) -> ContainerInfo | None:
        uid = pod["metadata"]["uid"]
        first = (pod["spec"].get("containers") or [{}])[0]
        try:
            if self.pause_image is None:  # the sandbox borrows the first image
                self._ensure_image(pod, first, sandbox=True)
            spec = podspec.infra_spec(pod, self.config.node.name, attempt, self.config.pod_network,
                                      self.pause_image, self.config.extra_labels,
                                      self.dns_server)
            self.volumes.setup(pod)
            cid = self.runtime.run(spec)
        except _Waiting as w:
            waiting[first.get("name", "")] = (w.reason, w.message)
            return None
        except MountError as e:
            # kubelet: the pod stays ContainerCreating and says why in an Event.
            self.events.warning(pod, "FailedMount", f"MountVolume.SetUp failed: {e}")
            for c in pod["spec"].get("containers") or []:
                waiting[c["name"]] = ("ContainerCreating", str(e))
            return None
        except (podspec.ConfigError, RuntimeFailure, OSError) as e:
            log.warning("creating the sandbox of pod %s failed: %s", pod_ref(pod, uid), e)
            self.events.warning(pod, "FailedCreatePodSandBox",
                                f"Failed to create pod sandbox: {e}")
            for c in pod["spec"].get("containers") or []:
                waiting[c["name"]] = ("ContainerCreating", f"failed to create pod sandbox: {e}")
            return None
        log.info("pod %s: sandbox %s started", pod_ref(pod, uid), cid[:12])
        return self.runtime.inspect(cid)

    def _start_container(self, pod: Obj, action: podplan.StartContainer,
                         sandbox: ContainerInfo, waiting: Waiting) -> None:
        uid = pod["metadata"]["uid"]
        spec = next((c for c in pod["spec"].get("containers") or []
                     if c["name"] == action.name), None)
        if spec is None:
            return
        name = action.name
        try:
            self._ensure_image(pod, spec)
            # ca.crt of the mounted token: the cluster CA the masters' certificates chain to
            sa_dir = satoken.ensure(self.client, pod, self.config.data_dir,
                                    self.config.ca_file or "")
            cspec = podspec.app_spec(pod, spec, self.config.node.name, action.attempt, sandbox.id,
                                     self.config.data_dir, self._resolve, sandbox.ip,
                                     self.config.node.address, self.config.extra_labels,
                                     self._service_env(pod), sa_dir=sa_dir)
        except _Waiting as w:
            waiting[name] = (w.reason, w.message)  # its events are already recorded
            return
        except podspec.ConfigError as e:
            waiting[name] = ("CreateContainerConfigError", str(e))
            if isinstance(e, podspec.MountError):
                self.events.warning(pod, "FailedMount", f"MountVolume.SetUp failed: {e}")
            self.events.warning(pod, "Failed", f"Error: {e}", name)
            return
        try:
            cid = self.runtime.run(cspec)
        except RuntimeFailure as e:
            waiting[name] = ("CreateContainerError", str(e))
            self.events.warning(pod, "Failed", f"Error: {e}", name)
            return
        # Docker creates and starts in one call (runtime.run): both events at once.
        self.events.normal(pod, "Created", f"Created container {name}", name)
        self.events.normal(pod, "Started", f"Started container {name}", name)
        waiting.pop(action.name, None)
        if action.crash_restart:
            CONTAINER_RESTARTS.inc()
            self.backoff.retried(podplan.backoff_key(uid, action.name))
        log.info("pod %s: container %s started (%s, attempt %d)", pod_ref(pod, uid),
                 action.name, cid[:12], action.attempt)

    def _ensure_image(self, pod: Obj, container: Obj, sandbox: bool = False) -> None:
        """Pull the container's image as its pull policy says, recording why
        it cannot start. For a ``sandbox`` an image already present makes no
        Pulled event: the container's own start says so a moment later (one
        Event write per pod instead of an Event and then a patch of it)."""
        uid = pod["metadata"]["uid"]
        name = container.get("name", "")
        image = container.get("image", "")
        policy = container.get("imagePullPolicy") or "IfNotPresent"
        present = self.runtime.has_image(image)
        if policy == "Never":
            if present:
                return
            message = f'Container image "{image}" is not present with pull policy of Never'
            self.events.warning(pod, "ErrImageNeverPull", message, name)
            raise _Waiting("ErrImageNeverPull", message)
        if policy == "IfNotPresent" and present:
            if sandbox:
                return
            self.events.normal(pod, "Pulled",
                               f'Container image "{image}" already present on machine', name)
            return
        key = f"{uid}/{name}/{image}"
        if self.pull_backoff.remaining(key, self._pull_failed_at.get(key, 0.0)) > 0:
            self.events.normal(pod, "BackOff", f'Back-off pulling image "{image}"', name)
            raise _Waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
        self.events.normal(pod, "Pulling", f'Pulling image "{image}"', name)
        started = time.monotonic()
        try:
            self.runtime.pull(image)
        except ImagePullError as e:
            self.pull_backoff.retried(key)
            self._pull_failed_at[key] = self.clock()
            log.info("pulling %s for pod %s failed: %s", image, uid, e)
            message = f'Failed to pull image "{image}": {e}'
            self.events.warning(pod, "Failed", message, name)
            raise _Waiting("ErrImagePull", message) from None
        self.pull_backoff.forget(key)
        self.events.normal(pod, "Pulled", f'Successfully pulled image "{image}" in '
                           f"{time.monotonic() - started:.3g}s", name)

    def _resolve(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self.client.get(kind, name, namespace)
        except errors.NotFound:
            return None
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            raise podspec.ConfigError(f"reading {kind.lower()} {namespace}/{name}: {e}") from None

    def _service_env(self, pod: Obj) -> dict[str, str]:
        """The Service variables as the Services are now, from the agent's
        Service informer (kubelet's service lister): no request per start,
        and offline its cache still serves, so a crashed container restarts
        without the API. Until its first list it is filled here."""
        if not self.services.wait_for_sync(0):
            try:
                self.services.relist()
            except (errors.ApiError, errors.ClusterUnreachable) as e:
                raise podspec.ConfigError(f"listing services: {e}") from None
        ns = pod["metadata"].get("namespace") or "default"
        services = self.services.list(ns)
        master = self.services.get_by(serviceenv.MASTER_NAMESPACE, serviceenv.MASTER_SERVICE)
        if master is not None and ns != serviceenv.MASTER_NAMESPACE:
            services.append(master)
        return serviceenv.service_env(serviceenv.visible(pod, services))

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
            log.warning("deleting pod %s failed (will retry): %s", pod_ref(pod, meta["uid"]), e)
            return False
        log.info("pod %s stopped and deleted", pod_ref(pod, meta["uid"]))
        return True

    def forget(self, uid: str) -> None:
        """Drop what is remembered about a pod that is gone."""
        for key in self.backoff.tracked():
            if key.startswith(uid + "/"):
                self.backoff.forget(key)
        for key in [k for k in self._pull_failed_at if k.startswith(uid + "/")]:
            self._pull_failed_at.pop(key, None)
            self.pull_backoff.forget(key)


def _kill_message(container: str, reason: str) -> str:
    if " probe failed" in reason:  # the prober's "Liveness probe failed: ..."
        return f"Container {container} failed {reason.split(' probe')[0].lower()} probe, " \
            "will be restarted"
    return f"Stopping container {container}"


def pod_ref(pod: Obj | None, uid: str) -> str:
    if pod is None:
        return f"(deleted, uid {uid})"
    return f"{pod['metadata'].get('namespace') or 'default'}/{pod['metadata']['name']}"
