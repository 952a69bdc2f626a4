"""The agent's Node object: what it declares about the machine, and registering it."""

from __future__ import annotations

import logging
import platform
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from coxapi import errors
from coxapi.client import Client
from coxapi.quantity import format_cpu, format_memory
from coxapi.retry import retry_on_conflict, starting_with
from coxapi.timefmt import now_rfc3339

log = logging.getLogger(__name__)
Obj = dict[str, Any]
AGENT_VERSION = "coxswain-0.1.0"  # kubelet and kube-proxy both: netproxy runs in the agent


@dataclass(frozen=True)
class Taint:
    key: str
    value: str
    effect: str

    @classmethod
    def parse(cls, text: str) -> Taint:
        """``key=value:Effect`` or ``key:Effect``."""
        head, sep, effect = text.rpartition(":")
        if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute") or not head:
            raise ValueError(f"taint {text!r} must look like key=value:NoSchedule "
                             "(effects: NoSchedule, PreferNoSchedule, NoExecute)")
        key, _, value = head.partition("=")
        return cls(key, value, effect)

    def to_obj(self) -> Obj:
        out = {"key": self.key, "effect": self.effect}
        if self.value:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class MachineInfo:
    cpu_millicores: int
    memory_bytes: int
    kernel: str
    os_image: str
    runtime_version: str
    machine_id: str = ""
    architecture: str = "amd64"
    system_uuid: str = ""
    boot_id: str = ""

    @classmethod
    def discover(cls, runtime_version: str) -> MachineInfo:
        machine_id = _read("/etc/machine-id")
        return cls(cpu_millicores=(psutil.cpu_count() or 1) * 1000,
                   memory_bytes=psutil.virtual_memory().total, kernel=platform.release(),
                   os_image=_os_image(), runtime_version=runtime_version,
                   machine_id=machine_id,
                   architecture={"x86_64": "amd64", "aarch64": "arm64"}.get(
                       platform.machine(), platform.machine()),
                   # the firmware's UUID (root may read it), else the machine id, as a VM
                   # without DMI has none; Kubernetes' schema requires some value
                   system_uuid=(_read("/sys/class/dmi/id/product_uuid").lower()
                                or _uuid_from(machine_id)),
                   boot_id=_read("/proc/sys/kernel/random/boot_id"))


def _uuid_from(hex_id: str) -> str:
    try:
        return str(uuid.UUID(hex=hex_id))
    except ValueError:
        return ""


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.platform()


@dataclass
class NodeConfig:
    name: str
    address: str
    port: int
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[Taint] = field(default_factory=list)
    max_pods: int = 110


def node_object(cfg: NodeConfig, machine: MachineInfo) -> Obj:
    """The Node as this agent declares it (pure)."""
    resources = {"cpu": format_cpu(machine.cpu_millicores),
                 "memory": format_memory(machine.memory_bytes), "pods": str(cfg.max_pods)}
    labels = {"kubernetes.io/hostname": cfg.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": machine.architecture} | cfg.labels
    spec: Obj = {}
    if cfg.taints:
        spec["taints"] = [t.to_obj() for t in cfg.taints]
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": cfg.name, "labels": labels},
        "spec": spec,
        "status": {
            "addresses": [{"type": "InternalIP", "address": cfg.address},
                          {"type": "Hostname", "address": cfg.name}],
            "capacity": dict(resources), "allocatable": dict(resources),
            # every field of Kubernetes' NodeSystemInfo (typed clients require them)
            "nodeInfo": {
                "machineID": machine.machine_id, "systemUUID": machine.system_uuid,
                "bootID": machine.boot_id, "kernelVersion": machine.kernel,
                "osImage": machine.os_image, "containerRuntimeVersion": machine.runtime_version,
                "kubeletVersion": AGENT_VERSION, "kubeProxyVersion": AGENT_VERSION,
                "operatingSystem": "linux", "architecture": machine.architecture,
            },
            "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.port}},
            "conditions": [ready_condition(True, "agent starting")],
        },
    }


def ready_condition(ready: bool, message: str, previous: Obj | None = None) -> Obj:
    now = now_rfc3339()
    status = "True" if ready else "False"
    keep = previous is not None and previous.get("status") == status
    return {"type": "Ready", "status": status,
            "reason": "KubeletReady" if ready else "KubeletNotReady",
            "message": message, "lastHeartbeatTime": now,
            "lastTransitionTime": previous.get("lastTransitionTime", now) if keep and previous
            else now}


def register(client: Client, desired: Obj) -> Obj:
    """Create the Node, or bring an existing one (this node re-registering) up to date.
    Labels set by others are kept; ours win. Returns the Node as stored."""
    name = desired["metadata"]["name"]
    try:
        node = client.create(desired)
    except errors.AlreadyExists:
        node = client.get("Node", name, namespace=None)
        node["metadata"]["labels"] = (node["metadata"].get("labels") or {}) | \
            desired["metadata"]["labels"]
        if desired["metadata"].get("annotations"):
            node["metadata"]["annotations"] = (node["metadata"].get("annotations") or {}) | \
                desired["metadata"]["annotations"]
        node.setdefault("spec", {})["taints"] = desired["spec"].get("taints", [])
        if not node["spec"]["taints"]:
            node["spec"].pop("taints")
        node = client.update(node)
    merged = node.get("status") or {}
    for key in ("addresses", "capacity", "allocatable", "nodeInfo", "daemonEndpoints"):
        merged[key] = desired["status"][key]
    previous = next((c for c in merged.get("conditions") or [] if c.get("type") == "Ready"), None)
    merged["conditions"] = [c for c in merged.get("conditions") or [] if c.get("type") != "Ready"]
    merged["conditions"].append(ready_condition(True, "agent is posting ready status", previous))
    node["status"] = merged
    return _update_status(client, node)


def _update_status(client: Client, node: Obj) -> Obj:
    current = starting_with(node, lambda: client.get("Node", node["metadata"]["name"],
                                                     namespace=None))

    def attempt() -> Obj:
        return client.update_status({**current(), "status": node["status"]})
    return retry_on_conflict(attempt)


def retry_forever(what: str, fn: Callable[[], Any], stop: threading.Event,
                  interval: float = 2.0,
                  catch: tuple[type[BaseException], ...] = (errors.ApiError,
                                                           errors.ClusterUnreachable,
                                                           OSError)) -> Any:
    """Call ``fn`` until it succeeds or ``stop`` is set (then None): masters may be down."""
    last = ""
    while not stop.is_set():
        try:
            return fn()
        except catch as e:
            if str(e) != last:
                log.warning("%s: %s; retrying", what, e)
                last = str(e)
        stop.wait(interval)
    return None


def wait_for_pod_cidr(client: Client, name: str, stop: threading.Event,
                      interval: float = 1.0) -> str | None:
    """Block until the masters' node IPAM gives this node a pod CIDR."""
    announced = False
    while not stop.is_set():
        try:
            cidr = (client.get("Node", name, namespace=None).get("spec") or {}).get("podCIDR")
            if cidr:
                return cidr
            if not announced:
                log.info("waiting for the masters to assign a pod CIDR to node %s", name)
                announced = True
        except (errors.ApiError, errors.ClusterUnreachable) as e:
            log.warning("reading node %s: %s", name, e)
        stop.wait(interval)
    return None
