"""Fakes for testing the agent: an in-memory runtime and an in-memory API client.

``FakeRuntime`` keeps the ``Runtime`` contract (checked against Docker by
``tests/e2e/test_node_runtime_contract.py``). ``FakeApi`` answers the calls
the agent makes with the API server's semantics that matter to it: resource
versions and Conflict, the status subresource, graceful pod deletion, watch,
and being unreachable.
"""

from __future__ import annotations

import builtins
import copy
import io
import itertools
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import docker.errors

from coxapi import errors, kinds
from coxapi.defaults import apply_defaults
from coxapi.meta import merge_patch, new_uid
from coxapi.timefmt import now_rfc3339, rfc3339

from . import fakeexec, podspec
from .podspec import ContainerSpec
from .runtime import ContainerInfo, ExecProcess, ImagePullError, RuntimeFailure

Obj = dict[str, Any]


def _snapshot(c: ContainerInfo) -> ContainerInfo:
    """A copy the caller may keep or change, as Docker's answers are, without
    ``copy.deepcopy`` (pure Python, walking every field): a hollow node lists
    and inspects its containers for every sync and every usage sample."""
    snap = copy.copy(c)
    snap.labels = dict(c.labels)
    snap.extra = copy.deepcopy(c.extra) if c.extra else {}
    return snap


class FakeRuntime:
    def __init__(self, clock: Callable[[], float] = time.time,
                 images: tuple[str, ...] = ("busybox:test", podspec.PAUSE_IMAGE)) -> None:
        self.clock = clock
        self.images = set(images)
        self.pullable: set[str] = set()
        self.containers: dict[str, ContainerInfo] = {}
        self.specs: dict[str, ContainerSpec] = {}
        self.stops: list[tuple[str, float]] = []
        self.execs: list[tuple[str, list[str]]] = []
        self.stopped: list[str] = []  # in the order the containers ended
        self.stop_delays: dict[str, float] = {}  # container name -> seconds to shut down
        self.exec_results: dict[str, tuple[int, str]] = {}  # container name -> result
        self.output: dict[str, bytes] = {}
        self.usage: dict[str, tuple[int, int]] = {}
        self.networks: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._ips = itertools.count(2)
        self._lock = threading.Lock()

    def version(self) -> str:
        return "fake://1.0"

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        with self._lock:
            return [_snapshot(c) for c in self.containers.values()
                    if all(c.labels.get(k) == v for k, v in labels.items())]

    def inspect(self, cid: str) -> ContainerInfo | None:
        with self._lock:
            c = self.containers.get(cid)
            return _snapshot(c) if c else None

    def run(self, spec: ContainerSpec) -> str:
        with self._lock:
            if spec.image not in self.images:
                raise RuntimeFailure(f"No such image: {spec.image}")
            # Like DockerRuntime: a stopped leftover of the same name is replaced.
            for old in [k for k, c in self.containers.items() if c.name == spec.name]:
                if self.containers[old].running:
                    raise RuntimeFailure(f"container {spec.name} is already running")
                del self.containers[old]
            cid = f"{next(self._ids):064x}"
            ip = ""
            if spec.network:
                subnet = self.networks.get(spec.network, "10.0.0.0/24")
                ip = subnet.rsplit(".", 1)[0] + f".{next(self._ips)}"
            self.containers[cid] = ContainerInfo(
                id=cid, name=spec.name, labels=dict(spec.labels), state="running",
                started_at=self.clock(), image=spec.image, image_id=f"sha256:{spec.image}", ip=ip)
            self.specs[cid] = spec
            return cid

    def stop(self, cid: str, timeout: float) -> None:
        self.stops.append((cid, timeout))
        c = self.inspect(cid)
        if c is not None and c.running:
            time.sleep(self.stop_delays.get(c.container_name, 0.0))  # a slow shutdown
        self.exit(cid, 143 if timeout > 0 else 137)
        self.stopped.append(cid)

    def exit(self, cid: str, code: int) -> None:
        """Test hook: the container's process ends with ``code``."""
        with self._lock:
            c = self.containers.get(cid)
            if c is not None and c.state == "running":
                c.state, c.exit_code, c.finished_at = "exited", code, self.clock()

    def remove(self, cid: str) -> None:
        with self._lock:
            self.containers.pop(cid, None)

    def has_image(self, image: str) -> bool:
        return image in self.images

    def pull(self, image: str) -> None:
        if image not in self.pullable:
            raise ImagePullError(f"pull access denied for {image}: registry unreachable")
        self.images.add(image)

    def exec(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, str]:
        self.execs.append((cid, list(cmd)))
        c = self.inspect(cid)
        if c is None or not c.running:
            return -1, "container is not running"
        default = (1, "") if cmd[:1] == ["false"] else (0, "")
        return self.exec_results.get(c.container_name, default)

    def exec_open(self, cid: str, cmd: list[str], stdin: bool, tty: bool) -> ExecProcess:
        self.execs.append((cid, list(cmd)))
        c = self.inspect(cid)
        if c is None or not c.running:
            raise RuntimeFailure(f"container {cid} is not running")
        return fakeexec.start(cmd, tty)

    def attach_open(self, cid: str, stdin: bool) -> ExecProcess:
        """The main process echoes the line it reads, else says hello."""
        c = self.inspect(cid)
        if c is None or not c.running:
            raise RuntimeFailure(f"container {cid} is not running")
        return fakeexec.start(["readline"] if stdin else ["echo", "attached"], tty=False)

    def logs(self, cid: str, follow: bool, tail: int | None, since: float | None = None,
             timestamps: bool = False) -> _Lines:
        """The output in ``output``, all of it written when the container started."""
        c = self.containers.get(cid)
        if c is None:
            raise RuntimeFailure(f"No such container: {cid}")
        written = c.started_at or 0.0
        lines = self.output.get(cid, b"").splitlines(keepends=True)
        if since is not None and since > written:
            lines = []
        if timestamps:
            lines = [rfc3339(written, micro=True).encode() + b" " + line for line in lines]
        if tail is not None:
            lines = lines[-tail:] if tail else []
        return _Lines(lines)

    def stats(self, cid: str) -> tuple[int, int] | None:
        return self.usage.get(cid)

    def ensure_network(self, name: str, subnet: str, gateway: str) -> None:
        self.networks[name] = subnet

    def ensure_pause_image(self) -> str | None:
        return podspec.PAUSE_IMAGE if podspec.PAUSE_IMAGE in self.images else None

    # ---- test helpers ------------------------------------------------------

    def app(self, pod_uid: str, name: str) -> ContainerInfo | None:
        """The latest instance of a pod's app container."""
        mine = [c for c in self.list_containers({podspec.LABEL_POD_UID: pod_uid})
                if c.container_name == name]
        return max(mine, key=lambda c: c.attempt) if mine else None


class _Lines:
    def __init__(self, lines: list[bytes]) -> None:
        self.lines = lines

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.lines)

    def close(self) -> None:
        self.lines = []


class FakeApi:
    """An in-memory stand-in for ``coxapi.client.Client``."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.revision = 0
        self.reachable = True
        self.calls: list[tuple[str, str]] = []
        self.list_versions: list[str | None] = []  # each list's resource_version ("0": stale ok)
        self._cond = threading.Condition()
        self._events: list[tuple[int, str, Obj]] = []

    def _check(self, verb: str, kind: str) -> None:
        self.calls.append((verb, kind))
        if not self.reachable:
            raise errors.ClusterUnreachable("no API server answered (fake)")

    @staticmethod
    def _key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
        k = kinds.lookup(kind)
        return k.kind, (namespace or "default") if k.namespaced else "", name

    def _store(self, key: tuple[str, str, str], obj: Obj, event: str) -> Obj:
        with self._cond:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            if event == "DELETED":
                self.objects.pop(key, None)
            else:
                self.objects[key] = obj
            self._events.append((self.revision, event, copy.deepcopy(obj)))
            self._cond.notify_all()
        return copy.deepcopy(obj)

    def get(self, kind: str, name: str, namespace: str | None = "default",
            resource_version: str | None = None) -> Obj:
        self._check("get", kind)
        obj = self.objects.get(self._key(kind, namespace, name))
        if obj is None:
            raise errors.NotFound(f'{kind.lower()} "{name}" not found')
        return copy.deepcopy(obj)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, limit: int | None = None,
             resource_version: str | None = None) -> Obj:
        self._check("list", kind)
        self.list_versions.append(resource_version)
        kname = kinds.lookup(kind).kind
        items = [copy.deepcopy(o) for (k, ns, _), o in sorted(self.objects.items())
                 if k == kname and (namespace is None or ns == namespace)
                 and _fields_match(o, field_selector)]
        return {"items": items[:limit] if limit else items,
                "metadata": {"resourceVersion": str(self.revision)}}

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        self._check("create", obj["kind"])
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        if kinds.lookup(obj["kind"]).namespaced:
            meta.setdefault("namespace", namespace or "default")
        key = self._key(obj["kind"], meta.get("namespace"), meta["name"])
        if key in self.objects:
            raise errors.AlreadyExists(f'{obj["kind"].lower()} "{meta["name"]}" already exists')
        meta.setdefault("uid", new_uid())
        meta.setdefault("creationTimestamp", now_rfc3339())
        return self._store(key, obj, "ADDED")

    def update(self, obj: Obj, subresource: str | None = None) -> Obj:
        self._check("update_status" if subresource == "status" else "update", obj["kind"])
        meta = obj["metadata"]
        key = self._key(obj["kind"], meta.get("namespace"), meta["name"])
        current = self.objects.get(key)
        if current is None:
            raise errors.NotFound(f'{obj["kind"].lower()} "{meta["name"]}" not found')
        rv = meta.get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.Conflict("the object has been modified; please apply your changes "
                                  "to the latest version and try again")
        new = copy.deepcopy(current)
        if subresource == "status":
            new["status"] = copy.deepcopy(obj.get("status"))
        else:
            status = new.get("status")
            new = copy.deepcopy(obj)
            if status is not None and current["kind"] != "Lease":
                new["status"] = status
        return self._store(key, new, "MODIFIED")

    def update_status(self, obj: Obj) -> Obj:
        return self.update(obj, "status")

    def patch(self, kind: str, name: str, patch: Obj, namespace: str | None = "default",
              subresource: str | None = None) -> Obj:
        self._check("patch", kind)
        key = self._key(kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise errors.NotFound(f'{kind.lower()} "{name}" not found')
        return self._store(key, merge_patch(current, patch), "MODIFIED")

    def delete(self, kind: str, name: str, namespace: str | None = "default",
               propagation: str | None = None, grace_period: int | None = None,
               uid: str | None = None) -> Obj | None:
        """Graceful for pods bound to a node, as the API server does."""
        self._check("delete", kind)
        key = self._key(kind, namespace, name)
        obj = self.objects.get(key)
        if obj is None:
            raise errors.NotFound(f'{kind.lower()} "{name}" not found')
        if uid is not None and obj["metadata"].get("uid") != uid:
            raise errors.Conflict("precondition failed: uid mismatch")
        obj = copy.deepcopy(obj)
        if key[0] == "Pod" and (obj.get("spec") or {}).get("nodeName"):
            grace = grace_period if grace_period is not None else \
                obj["spec"].get("terminationGracePeriodSeconds", 30)
            if grace > 0 and obj["metadata"].get("deletionGracePeriodSeconds") != 0:
                when = datetime.now(UTC) + timedelta(seconds=grace)
                obj["metadata"]["deletionTimestamp"] = rfc3339(when)
                obj["metadata"]["deletionGracePeriodSeconds"] = grace
                return self._store(key, obj, "MODIFIED")
        return self._store(key, obj, "DELETED")

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
                **_: Any) -> Any:
        parts = path.strip("/").split("/")
        if method == "DELETE" and parts[:3] == ["api", "v1", "namespaces"] and parts[4] == "pods":
            body = body or {}
            return self.delete("Pod", parts[5], parts[3], grace_period=body.get(
                "gracePeriodSeconds"), uid=(body.get("preconditions") or {}).get("uid"))
        raise errors.NotFound(f"fake API has no {method} {path}")

    def watch(self, kind: str, namespace: str | None = None, resource_version: Any = None,
              label_selector: str | None = None, field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Iterator[tuple[str, Obj]]:
        self._check("watch", kind)
        kname = kinds.lookup(kind).kind
        since = int(resource_version) if resource_version not in (None, "", "0") \
            else self.revision
        deadline = time.monotonic() + (timeout_seconds or 60)
        while time.monotonic() < deadline:
            with self._cond:
                self._cond.wait(0.5)
                fresh = [e for e in self._events if e[0] > since]
            if not self.reachable:
                raise errors.ClusterUnreachable("watch: connection lost (fake)")
            for rev, typ, obj in fresh:
                since = rev
                if obj["kind"] == kname and _fields_match(obj, field_selector):
                    yield typ, obj

    # ---- test helpers ------------------------------------------------------

    def pod(self, name: str, namespace: str = "default") -> Obj | None:
        obj = self.objects.get(("Pod", namespace, name))
        return copy.deepcopy(obj) if obj else None

    def history(self, kind: str, name: str, namespace: str = "default") -> builtins.list[Obj]:
        """Every version of an object ever stored, oldest first."""
        with self._cond:
            return [copy.deepcopy(o) for _, _, o in self._events
                    if o["kind"] == kind and o["metadata"]["name"] == name
                    and o["metadata"].get("namespace", "") in (namespace, "")]

    def updates(self, verb: str, kind: str) -> int:
        return sum(1 for c in self.calls if c == (verb, kind))


def _fields_match(obj: Obj, selector: str | None) -> bool:
    for term in filter(None, (selector or "").split(",")):
        path, _, want = term.partition("=")
        value: Any = obj
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if (value or "") != want:
            return False
    return True


def make_pod(name: str, node: str, containers: list[Obj], namespace: str = "default",
             **spec: Any) -> Obj:
    """A pod bound to ``node``, with the defaults the API server would apply."""
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": namespace},
           "spec": {"nodeName": node, "containers": containers, **spec}}
    return apply_defaults(pod)


TEST_IMAGE = "coxswain/test-busybox:latest"
_TEST_DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir -p /tmp /www"]
CMD ["/bin/sh"]
"""


def build_test_image(docker_api: Any, busybox: str = "/bin/busybox",
                     tag: str = TEST_IMAGE) -> str:
    """Build the busybox-only test image (``FROM scratch``) unless it exists.
    ``docker_api`` is a ``docker.APIClient``."""
    try:
        docker_api.inspect_image(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        with open(busybox, "rb") as f:
            blob = f.read()
        for name, data in (("Dockerfile", _TEST_DOCKERFILE), ("busybox", blob)):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    for event in docker_api.build(fileobj=io.BytesIO(buf.getvalue()), custom_context=True,
                                  tag=tag, rm=True, network_mode="none", decode=True,
                                  pull=False):
        if "error" in event:
            raise RuntimeError(f"building {tag}: {event['error']}")
    return tag


class FakeMounter:
    """``volumes.Mounter`` without root: remembers which paths are "tmpfs"."""

    def __init__(self) -> None:
        self.mounts: dict[str, int | None] = {}  # path -> size
        self.unmounted: list[str] = []

    def mount_tmpfs(self, path: str, size: int | None) -> None:
        self.mounts[path] = size

    def unmount(self, path: str) -> None:
        self.mounts.pop(path, None)
        self.unmounted.append(path)

    def is_mounted(self, path: str) -> bool:
        return path in self.mounts
