"""Pure translation of a pod into the containers that run it.

A pod is one infrastructure ("pause") container that holds the network
namespace plus one container per ``spec.containers`` entry joined to it. This
module turns the pod spec into runtime-neutral ``ContainerSpec`` values (the
runtime maps them onto Docker) and names every container with labels, so the
agent can rediscover its pods from Docker alone after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import json
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coxapi.quantity import QuantityError, parse_cpu, parse_memory

from . import dnszone

Obj = dict[str, Any]

# Labels on every container the agent creates.
LABEL_MANAGED = "io.coxswain.managed"
LABEL_NODE = "io.coxswain.node"
LABEL_POD_NAME = "io.coxswain.pod.name"
LABEL_POD_NAMESPACE = "io.coxswain.pod.namespace"
LABEL_POD_UID = "io.coxswain.pod.uid"
LABEL_CONTAINER_NAME = "io.coxswain.container.name"
LABEL_CONTAINER_TYPE = "io.coxswain.container.type"  # "infra" | "app"
LABEL_ATTEMPT = "io.coxswain.container.attempt"
LABEL_HASH = "io.coxswain.container.hash"
LABEL_SANDBOX = "io.coxswain.sandbox"  # app containers: id of the infra container they joined
LABEL_GRACE = "io.coxswain.pod.termination-grace"

INFRA_NAME = "POD"
PAUSE_IMAGE = "coxswain/pause:latest"
# Used when no pause image is available: the pod's first image, sleeping forever.
# The shell traps TERM so the sandbox stops at once (PID 1 ignores unhandled signals).
SLEEP_FOREVER = ["/bin/sh", "-c", 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done']


class ConfigError(ValueError):
    """The pod cannot be turned into a container (kubelet: CreateContainerConfigError)."""


class MountError(ConfigError):
    """A volume cannot be mounted (reported as a ``FailedMount`` event)."""


@dataclass(frozen=True)
class ContainerSpec:
    """Everything needed to create one container, independent of Docker's API."""

    name: str  # the runtime's container name (unique per runtime)
    image: str
    labels: dict[str, str]
    entrypoint: list[str] | None = None  # None: the image's ENTRYPOINT
    command: list[str] | None = None  # None: the image's CMD
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    network: str | None = None  # infra: the pod network to attach to
    network_mode: str | None = None  # app: "container:<infra id>"
    hostname: str | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    mem_limit: int | None = None
    binds: list[str] = field(default_factory=list)  # "host:container[:ro]"
    stop_timeout: int | None = None
    stdin: bool = False  # kept open for ``kubectl attach -i``
    tty: bool = False
    # infra: the pod's resolv.conf (app containers share the infra's)
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)


def pod_dir(data_dir: str, pod_uid: str) -> str:
    return posixpath.join(data_dir, "pods", pod_uid)


def empty_dir_path(data_dir: str, pod_uid: str, volume: str) -> str:
    return posixpath.join(pod_dir(data_dir, pod_uid), "volumes", "empty-dir", volume)


# Volume sources whose files the agent writes from API objects (node/projection.py).
API_SOURCES = ("configMap", "secret", "downwardAPI", "projected")


def api_volume_path(data_dir: str, pod_uid: str, source: str, volume: str) -> str:
    return posixpath.join(pod_dir(data_dir, pod_uid), "volumes", source.lower(), volume)


def volume_source_path(pod: Obj, vol: Obj, data_dir: str) -> str | None:
    """Where a volume lives on the node, or None for a source the agent does not know."""
    uid = pod["metadata"]["uid"]
    if "emptyDir" in vol:
        return empty_dir_path(data_dir, uid, vol["name"])
    if "hostPath" in vol:
        return str(vol["hostPath"]["path"])
    for source in API_SOURCES:
        if vol.get(source) is not None:
            return api_volume_path(data_dir, uid, source, vol["name"])
    if vol.get("persistentVolumeClaim") is not None:
        return claim_link_path(data_dir, uid, vol["name"])
    return None


def claim_link_path(data_dir: str, pod_uid: str, volume: str) -> str:
    """A symlink to the claim's volume on the node (made by node/volumes.py);
    a bind mount of it binds the volume's directory."""
    return posixpath.join(pod_dir(data_dir, pod_uid), "volumes", "persistentvolumeclaim", volume)


def container_hash(container: Obj) -> str:
    """A digest of a container's spec: a change means the container is replaced."""
    blob = json.dumps(container, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def base_labels(pod: Obj, node: str, container_name: str, attempt: int) -> dict[str, str]:
    meta = pod["metadata"]
    grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
    return {
        LABEL_MANAGED: "true",
        LABEL_NODE: node,
        LABEL_POD_NAME: meta["name"],
        LABEL_POD_NAMESPACE: meta.get("namespace") or "default",
        LABEL_POD_UID: meta["uid"],
        LABEL_CONTAINER_NAME: container_name,
        LABEL_ATTEMPT: str(attempt),
        LABEL_GRACE: str(grace),
    }


def runtime_name(pod: Obj, container_name: str, attempt: int) -> str:
    """``cox_<container>_<pod>_<namespace>_<uid>_<attempt>``, like kubelet's ``k8s_…``."""
    meta = pod["metadata"]
    return (f"cox_{container_name}_{meta['name']}_{meta.get('namespace') or 'default'}_"
            f"{meta['uid']}_{attempt}")


def infra_spec(pod: Obj, node: str, attempt: int, network: str, pause_image: str | None,
               extra_labels: dict[str, str] | None = None,
               dns_server: str | None = None) -> ContainerSpec:
    """The sandbox: holds the pod's network namespace on the pod network, and
    its resolv.conf (``dns_server``: the node's cluster DNS, if it serves one)."""
    labels = base_labels(pod, node, INFRA_NAME, attempt) | {LABEL_CONTAINER_TYPE: "infra"}
    labels |= extra_labels or {}
    if pause_image:
        image, entrypoint, command = pause_image, None, None
    else:
        containers = pod["spec"].get("containers") or []
        if not containers:
            raise ConfigError("spec.containers: a pod needs at least one container")
        image, entrypoint, command = containers[0]["image"], SLEEP_FOREVER[:1], SLEEP_FOREVER[1:]
    servers, search, options = pod_dns(pod, dns_server)
    return ContainerSpec(
        name=runtime_name(pod, INFRA_NAME, attempt), image=image, labels=labels,
        entrypoint=entrypoint, command=command, network=network,
        hostname=_hostname(pod), stop_timeout=2,
        dns=servers, dns_search=search, dns_options=options,
    )


def pod_dns(pod: Obj, dns_server: str | None) -> tuple[list[str], list[str], list[str]]:
    """(nameservers, search, options) by ``dnsPolicy`` as kubelet decides them:
    ClusterFirst the cluster DNS (the runtime's default when the node serves
    none), Default the runtime's, None only ``dnsConfig``, which the others
    add to."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy", "ClusterFirst")
    servers: list[str] = []
    search: list[str] = []
    options: list[str] = []
    cluster = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork"))
    if cluster and dns_server:
        ns = pod["metadata"].get("namespace") or "default"
        servers, search, options = dnszone.resolv_conf(ns, dns_server)
    cfg = spec.get("dnsConfig") or {}
    servers += [s for s in cfg.get("nameservers") or [] if s not in servers]
    search += [s for s in cfg.get("searches") or [] if s not in search]
    for opt in cfg.get("options") or []:
        text = opt["name"] + (f":{opt['value']}" if opt.get("value") is not None else "")
        options = [o for o in options if o.split(":")[0] != opt["name"]] + [text]
    return servers, search, options


def _hostname(pod: Obj) -> str:
    # Linux limits hostnames to 64 characters; Kubernetes truncates the same way.
    name = pod["spec"].get("hostname") or pod["metadata"]["name"]
    return name[:63].rstrip("-.")


# A resolver answers (kind, namespace, name) with the object, or None if it is absent.
Resolver = Callable[[str, str, str], Obj | None]


SA_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


def app_spec(pod: Obj, container: Obj, node: str, attempt: int, infra_id: str, data_dir: str,
             resolve: Resolver, pod_ip: str = "", host_ip: str = "",
             extra_labels: dict[str, str] | None = None,
             base_env: dict[str, str] | None = None,
             sa_dir: str | None = None) -> ContainerSpec:
    """One app container joined to the pod's sandbox. ``base_env``: the
    Service variables, which the container's own env overrides. ``sa_dir``:
    the pod's ServiceAccount files (node.satoken), mounted unless the container
    mounts something there itself. Raises ``ConfigError``."""
    ns = pod["metadata"].get("namespace") or "default"
    env = downward_env(pod, container, resolve_env(container, ns, resolve, base_env), pod_ip,
                       host_ip)
    labels = base_labels(pod, node, container["name"], attempt) | {
        LABEL_CONTAINER_TYPE: "app",
        LABEL_HASH: container_hash(container),
        LABEL_SANDBOX: infra_id,
    }
    labels |= extra_labels or {}
    entrypoint = command = None
    if container.get("command") is not None:
        # Kubernetes: command replaces ENTRYPOINT and, without args, drops CMD too
        # (Docker clears CMD when ENTRYPOINT is overridden).
        entrypoint = expand_all(container["command"], env)
    if container.get("args") is not None:
        command = expand_all(container["args"], env)
    nano_cpus, cpu_shares, mem_limit = _resources(container)
    return ContainerSpec(
        name=runtime_name(pod, container["name"], attempt), image=container["image"],
        labels=labels, entrypoint=entrypoint, command=command, env=env,
        working_dir=container.get("workingDir") or None,
        network_mode=f"container:{infra_id}",
        nano_cpus=nano_cpus, cpu_shares=cpu_shares, mem_limit=mem_limit,
        binds=volume_binds(pod, container, data_dir) + _sa_binds(container, sa_dir),
        stop_timeout=int(pod["spec"].get("terminationGracePeriodSeconds", 30)),
        stdin=bool(container.get("stdin")), tty=bool(container.get("tty")),
    )


def _sa_binds(container: Obj, sa_dir: str | None) -> list[str]:
    mounted = {m.get("mountPath") for m in container.get("volumeMounts") or []}
    return [f"{sa_dir}:{SA_MOUNT}:ro"] if sa_dir and SA_MOUNT not in mounted else []


def _resources(container: Obj) -> tuple[int | None, int | None, int | None]:
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    try:
        nano_cpus = parse_cpu(limits["cpu"]) * 1_000_000 if "cpu" in limits else None
        # kubelet: cpu.shares = millicores * 1024 / 1000, at least 2.
        shares = max(2, parse_cpu(requests["cpu"]) * 1024 // 1000) if "cpu" in requests else None
        mem_limit = parse_memory(limits["memory"]) if "memory" in limits else None
    except QuantityError as e:
        raise ConfigError(f"resources of container {container.get('name')}: {e}") from None
    return nano_cpus, shares, mem_limit


def volume_binds(pod: Obj, container: Obj, data_dir: str) -> list[str]:
    """Bind mounts for a container's volumeMounts. A ``subPath`` of a configMap or
    secret volume binds the file itself (the symlink is followed when mounted), so
    it keeps the content it had when the container started, as in Kubernetes."""
    sources: dict[str, str] = {}
    api_volumes: set[str] = set()
    for vol in pod["spec"].get("volumes") or []:
        path = volume_source_path(pod, vol, data_dir)
        if path is not None:
            sources[vol["name"]] = path
        if any(vol.get(s) is not None for s in API_SOURCES) \
                or (vol.get("persistentVolumeClaim") or {}).get("readOnly"):
            api_volumes.add(vol["name"])
    binds = []
    for mount in container.get("volumeMounts") or []:
        src = sources.get(mount.get("name", ""))
        if src is None:
            raise MountError(f"container {container.get('name')}: volumeMount "
                             f"{mount.get('name')!r} names no volume of a supported type")
        if mount.get("subPath"):
            src = posixpath.join(src, mount["subPath"])
        # configMap, secret, downwardAPI and projected volumes are read-only (Kubernetes),
        # as is a claim the pod mounts readOnly.
        ro = mount.get("readOnly") or mount.get("name") in api_volumes
        mode = ":ro" if ro else ""
        binds.append(f"{src}:{mount['mountPath']}{mode}")
    return binds


def resolve_env(container: Obj, namespace: str, resolve: Resolver,
                base: dict[str, str] | None = None) -> dict[str, str]:
    """``base``, then ``envFrom``, then ``env`` (later wins), with ConfigMap and
    Secret references; ``$(VAR)`` may refer to any earlier one."""
    env: dict[str, str] = dict(base or {})
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            ref = source.get(key)
            if ref is None:
                continue
            obj = resolve(kind, namespace, ref["name"])
            if obj is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{kind.lower()} "{ref["name"]}" not found')
            for k, v in _data(kind, obj).items():
                env[prefix + k] = v
    for var in container.get("env") or []:
        name = var["name"]
        if "value" in var:
            env[name] = expand(str(var["value"]), env)
            continue
        source = var.get("valueFrom") or {}
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            ref = source.get(key)
            if ref is None:
                continue
            obj = resolve(kind, namespace, ref["name"])
            data = _data(kind, obj) if obj is not None else None
            if data is None or ref["key"] not in data:
                if ref.get("optional"):
                    break
                what = "not found" if data is None else f'has no key "{ref["key"]}"'
                raise ConfigError(f'{kind.lower()} "{ref["name"]}" {what}')
            env[name] = data[ref["key"]]
            break
        else:
            if "fieldRef" not in source and "resourceFieldRef" not in source:
                env[name] = ""
    return env


def downward_env(pod: Obj, container: Obj, env: dict[str, str], pod_ip: str,
                 host_ip: str) -> dict[str, str]:
    """``valueFrom.fieldRef`` values, known only once the sandbox has its IP."""
    fields = {
        "metadata.name": pod["metadata"]["name"],
        "metadata.namespace": pod["metadata"].get("namespace") or "default",
        "metadata.uid": pod["metadata"]["uid"],
        "spec.nodeName": pod["spec"].get("nodeName", ""),
        "spec.serviceAccountName": pod["spec"].get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.hostIP": host_ip,
    }
    out = dict(env)
    for var in container.get("env") or []:
        ref = (var.get("valueFrom") or {}).get("fieldRef")
        if ref:
            path = ref.get("fieldPath", "")
            m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
            if m:
                out[var["name"]] = (pod["metadata"].get(m.group(1)) or {}).get(m.group(2), "")
            else:
                out[var["name"]] = fields.get(path, "")
    return out


def _data(kind: str, obj: Obj) -> dict[str, str]:
    if kind == "Secret":
        data = {k: base64.b64decode(v).decode("utf-8", "replace")
                for k, v in (obj.get("data") or {}).items()}
        data.update(obj.get("stringData") or {})
        return data
    return dict(obj.get("data") or {})


_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: unknown references stay, ``$$`` escapes."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(sub, text)


def expand_all(items: list[Any], env: dict[str, str]) -> list[str]:
    return [expand(str(i), env) for i in items]


def container_port(container: Obj, port: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ConfigError(f"container {container.get('name')} has no port named {port!r}")
