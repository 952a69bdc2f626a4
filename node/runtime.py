"""The container runtime the agent drives: a ``Runtime`` protocol and Docker.

The agent only ever talks to containers through this interface, so tests can
swap in ``node.testing.FakeRuntime``; the contract tests in
``tests/e2e/test_node_runtime_contract.py`` run against both.
"""

from __future__ import annotations

import io
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import docker
import docker.errors
import docker.types
import requests

from coxapi.timefmt import parse_epoch

from . import podspec
from .podspec import ContainerSpec


class RuntimeFailure(Exception):
    """The runtime refused an operation (message is safe to show to users)."""


class ImagePullError(RuntimeFailure):
    pass


@dataclass
class ContainerInfo:
    id: str
    name: str
    labels: dict[str, str]
    state: str  # "created" | "running" | "exited" | "dead" | ...
    exit_code: int | None = None
    started_at: float | None = None
    finished_at: float | None = None
    image: str = ""
    image_id: str = ""
    ip: str = ""  # on the pod network (infra containers)
    oom_killed: bool = False
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def pod_uid(self) -> str:
        return self.labels.get(podspec.LABEL_POD_UID, "")

    @property
    def container_name(self) -> str:
        return self.labels.get(podspec.LABEL_CONTAINER_NAME, "")

    @property
    def attempt(self) -> int:
        try:
            return int(self.labels.get(podspec.LABEL_ATTEMPT, "0"))
        except ValueError:
            return 0

    @property
    def is_infra(self) -> bool:
        return self.labels.get(podspec.LABEL_CONTAINER_TYPE) == "infra"

    @property
    def running(self) -> bool:
        return self.state == "running"


class LogStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...
    def close(self) -> None: ...


@dataclass
class ExecProcess:
    """A process ``exec_open`` started: ``sock`` is its hijacked stream (stdin
    in; out: stdout and stderr in Docker's frames, or the raw terminal with a
    TTY); ``shutdown(SHUT_WR)`` on it ends the process's stdin."""

    sock: socket.socket
    resize: Callable[[int, int], None]  # (width, height) of its terminal
    exit_code: Callable[[], int | None]  # None while it runs
    raw: bool  # a terminal's stream: no Docker frames
    keep: object = None  # what must stay referenced while the stream is open


class Runtime(Protocol):
    def version(self) -> str: ...
    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]: ...
    def inspect(self, cid: str) -> ContainerInfo | None: ...
    def run(self, spec: ContainerSpec) -> str: ...
    def stop(self, cid: str, timeout: float) -> None: ...
    def remove(self, cid: str) -> None: ...
    def has_image(self, image: str) -> bool: ...
    def pull(self, image: str) -> None: ...
    def exec(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, str]: ...
    def exec_open(self, cid: str, cmd: list[str], stdin: bool, tty: bool) -> ExecProcess: ...
    def attach_open(self, cid: str, stdin: bool) -> ExecProcess: ...
    def logs(self, cid: str, follow: bool, tail: int | None, since: float | None = None,
             timestamps: bool = False) -> LogStream: ...
    def stats(self, cid: str) -> tuple[int, int] | None: ...
    def ensure_network(self, name: str, subnet: str, gateway: str) -> None: ...
    def ensure_pause_image(self) -> str | None: ...


def parse_docker_time(value: str | None) -> float | None:
    """Docker's RFC 3339 nanosecond times as epoch seconds; its zero time is None."""
    if not value or value.startswith("0001-01-01"):
        return None
    return parse_epoch(value)


class DockerRuntime:
    """``Runtime`` over the Docker Engine API (the docker SDK's low-level client)."""

    def __init__(self, base_url: str = "unix:///var/run/docker.sock", network: str = "cox-pods",
                 busybox: str = "/bin/busybox") -> None:
        self.api = docker.APIClient(base_url=base_url, version="auto", timeout=60)
        self.network = network
        self.busybox = Path(busybox)
        # Inspect results of containers whose state is unchanged since last time.
        self._cache: dict[str, tuple[str, ContainerInfo]] = {}
        self._lock = threading.Lock()

    def version(self) -> str:
        return f"docker://{self.api.version().get('Version', 'unknown')}"

    # ---- containers ------------------------------------------------------

    def list_containers(self, labels: dict[str, str]) -> list[ContainerInfo]:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        out = []
        seen = set()
        for summary in self.api.containers(all=True, filters=filters):
            cid, state = summary["Id"], summary.get("State", "")
            seen.add(cid)
            with self._lock:
                cached = self._cache.get(cid)
            if cached and cached[0] == state:
                out.append(cached[1])
                continue
            info = self.inspect(cid)
            if info is not None:
                with self._lock:
                    self._cache[cid] = (state, info)
                out.append(info)
        with self._lock:
            for cid in [c for c in self._cache if c not in seen]:
                del self._cache[cid]
        return out

    def inspect(self, cid: str) -> ContainerInfo | None:
        try:
            a = self.api.inspect_container(cid)
        except docker.errors.NotFound:
            return None
        st = a.get("State") or {}
        nets = (a.get("NetworkSettings") or {}).get("Networks") or {}
        ip = (nets.get(self.network) or {}).get("IPAddress", "")
        return ContainerInfo(
            id=a["Id"], name=a.get("Name", "").lstrip("/"),
            labels=(a.get("Config") or {}).get("Labels") or {},
            state=st.get("Status", ""),
            exit_code=st.get("ExitCode") if st.get("Status") in ("exited", "dead") else None,
            started_at=parse_docker_time(st.get("StartedAt")),
            finished_at=parse_docker_time(st.get("FinishedAt")),
            image=(a.get("Config") or {}).get("Image", ""), image_id=a.get("Image", ""),
            ip=ip, oom_killed=bool(st.get("OOMKilled")), error=st.get("Error") or "",
        )

    def run(self, spec: ContainerSpec) -> str:
        """Create and start a container; a stopped container left over under the same
        name (from an attempt that failed half-way) is replaced, a running one never."""
        try:
            cid = self._create(spec)
        except docker.errors.APIError as e:
            if e.status_code != 409:
                raise RuntimeFailure(_explain(e)) from None
            old = self.inspect(spec.name)
            if old is not None and old.running:
                raise RuntimeFailure(f"container {spec.name} is already running") from None
            self._remove_quietly(spec.name)
            try:
                cid = self._create(spec)
            except docker.errors.APIError as e2:
                raise RuntimeFailure(_explain(e2)) from None
        try:
            self.api.start(cid)
        except docker.errors.APIError as e:
            self._remove_quietly(cid)
            raise RuntimeFailure(_explain(e)) from None
        return cid

    def _create(self, spec: ContainerSpec) -> str:
        host_config = self.api.create_host_config(
            network_mode=spec.network_mode or spec.network,
            binds=spec.binds or None,
            nano_cpus=spec.nano_cpus, cpu_shares=spec.cpu_shares, mem_limit=spec.mem_limit,
            init=False, dns=spec.dns or None, dns_search=spec.dns_search or None,
            dns_opt=spec.dns_options or None,
        )
        networking = None
        if spec.network:
            networking = self.api.create_networking_config(
                {spec.network: self.api.create_endpoint_config()})
        resp = self.api.create_container(
            spec.image, command=spec.command, entrypoint=spec.entrypoint,
            environment=spec.env or None, working_dir=spec.working_dir, labels=spec.labels,
            name=spec.name, hostname=spec.hostname, host_config=host_config,
            networking_config=networking, stop_timeout=spec.stop_timeout, detach=True,
            stdin_open=spec.stdin, tty=spec.tty,
        )
        return resp["Id"]

    def _remove_quietly(self, cid: str) -> None:
        try:
            self.api.remove_container(cid, force=True)
        except docker.errors.APIError:
            pass

    def stop(self, cid: str, timeout: float) -> None:
        try:
            self.api.stop(cid, timeout=max(0, int(round(timeout))))
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            raise RuntimeFailure(_explain(e)) from None

    def remove(self, cid: str) -> None:
        try:
            self.api.remove_container(cid, force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as e:
            if e.status_code != 409:  # removal already in progress
                raise RuntimeFailure(_explain(e)) from None

    # ---- images ----------------------------------------------------------

    def has_image(self, image: str) -> bool:
        try:
            self.api.inspect_image(image)
            return True
        except docker.errors.ImageNotFound:
            return False
        except docker.errors.APIError:
            return False

    def pull(self, image: str) -> None:
        repo, tag = _split_image(image)
        try:
            for event in self.api.pull(repo, tag=tag, stream=True, decode=True):
                if "error" in event:
                    raise ImagePullError(str(event["error"]).strip())
        except docker.errors.APIError as e:
            raise ImagePullError(_explain(e)) from None
        except requests.RequestException as e:
            raise ImagePullError(str(e)) from None

    def ensure_pause_image(self) -> str | None:
        """Build ``coxswain/pause:latest`` from the node's static busybox if absent.
        Returns None (sandboxes then reuse the pod's first image) if it cannot."""
        if self.has_image(podspec.PAUSE_IMAGE):
            return podspec.PAUSE_IMAGE
        if not self.busybox.is_file():
            return None
        try:
            for _ in self.api.build(fileobj=io.BytesIO(_pause_context(self.busybox)),
                                    custom_context=True, tag=podspec.PAUSE_IMAGE, rm=True,
                                    network_mode="none", decode=True, pull=False):
                pass
        except docker.errors.APIError:
            return None
        return podspec.PAUSE_IMAGE if self.has_image(podspec.PAUSE_IMAGE) else None

    # ---- exec, logs, stats -------------------------------------------------

    def exec(self, cid: str, cmd: list[str], timeout: float) -> tuple[int, str]:
        """Run ``cmd`` in the container; (-1, reason) if it failed to run or timed out."""
        try:
            ex = self.api.exec_create(cid, cmd, stdout=True, stderr=True)
        except docker.errors.APIError as e:
            return -1, _explain(e)
        result: dict[str, bytes] = {}

        def start() -> None:
            try:
                result["out"] = self.api.exec_start(ex["Id"])
            except (docker.errors.APIError, requests.RequestException) as e:
                result["err"] = str(e).encode()
        t = threading.Thread(target=start, daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            return -1, f"command timed out after {timeout:g}s"
        if "err" in result:
            return -1, result["err"].decode(errors="replace")
        code = self.api.exec_inspect(ex["Id"]).get("ExitCode")
        return (code if code is not None else -1), result.get("out", b"").decode(errors="replace")

    def exec_open(self, cid: str, cmd: list[str], stdin: bool, tty: bool) -> ExecProcess:
        """Start ``cmd`` in the container attached to a stream (``kubectl exec``)."""
        try:
            eid = self.api.exec_create(cid, cmd, stdin=stdin, stdout=True, stderr=True,
                                       tty=tty)["Id"]
            raw = self.api.exec_start(eid, tty=tty, socket=True)
        except (docker.errors.APIError, requests.RequestException) as e:
            raise RuntimeFailure(_explain(e) if isinstance(e, docker.errors.APIError)
                                 else str(e)) from None

        def exit_code() -> int | None:
            state = self.api.exec_inspect(eid)
            return None if state.get("Running") else state.get("ExitCode")
        # the SDK's socket wrapper keeps the HTTP response alive (dropping it closes the socket)
        return ExecProcess(sock=getattr(raw, "_sock", raw), keep=raw, exit_code=exit_code,
                           resize=lambda w, h: self.api.exec_resize(eid, height=h, width=w),
                           raw=tty)

    def attach_open(self, cid: str, stdin: bool) -> ExecProcess:
        """Attach to the container's main process (``kubectl attach``); its
        stdin only if the container keeps it open (the pod's ``stdin: true``)."""
        try:
            config = self.api.inspect_container(cid).get("Config") or {}
            raw = self.api.attach_socket(cid, params={
                "stdin": int(stdin and bool(config.get("OpenStdin"))), "stdout": 1, "stderr": 1,
                "stream": 1})
        except (docker.errors.APIError, requests.RequestException) as e:
            raise RuntimeFailure(_explain(e) if isinstance(e, docker.errors.APIError)
                                 else str(e)) from None

        def exit_code() -> int | None:
            state = self.api.inspect_container(cid).get("State") or {}
            return None if state.get("Running") else state.get("ExitCode")
        return ExecProcess(sock=getattr(raw, "_sock", raw), keep=raw, exit_code=exit_code,
                           resize=lambda w, h: self.api.resize(cid, height=h, width=w),
                           raw=bool(config.get("Tty")))

    def logs(self, cid: str, follow: bool, tail: int | None, since: float | None = None,
             timestamps: bool = False) -> LogStream:
        """The container's output (lines written at or after ``since``, epoch seconds,
        each prefixed with its RFC 3339 time if ``timestamps``); ``close()`` from any
        thread ends a follow."""
        try:
            return self.api.logs(cid, stdout=True, stderr=True, stream=True, follow=follow,
                                 tail="all" if tail is None else tail,
                                 since=float(since) if since and since > 0 else None,
                                 timestamps=timestamps)
        except docker.errors.APIError as e:
            raise RuntimeFailure(_explain(e)) from None

    def stats(self, cid: str) -> tuple[int, int] | None:
        """(cumulative CPU nanoseconds, working-set memory bytes) of a running container."""
        try:
            s = self.api.stats(cid, stream=False, one_shot=True)
        except (docker.errors.APIError, requests.RequestException):
            return None
        cpu = int(((s.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage") or 0)
        mem = s.get("memory_stats") or {}
        usage = int(mem.get("usage") or 0)
        inactive = int((mem.get("stats") or {}).get("inactive_file")
                       or (mem.get("stats") or {}).get("total_inactive_file") or 0)
        return cpu, max(0, usage - inactive)

    # ---- network ---------------------------------------------------------

    def ensure_network(self, name: str, subnet: str, gateway: str) -> None:
        """A bridge network with exactly this subnet; a stale empty one is replaced."""
        for net in self.api.networks(names=[name]):
            if net.get("Name") != name:
                continue
            configs = ((net.get("IPAM") or {}).get("Config")) or []
            if any(c.get("Subnet") == subnet for c in configs):
                return
            detail = self.api.inspect_network(net["Id"])
            if detail.get("Containers"):
                raise RuntimeFailure(f"network {name} has subnet {configs} with containers "
                                     f"attached, not the node's pod CIDR {subnet}")
            self.api.remove_network(net["Id"])
        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet,
                                                                           gateway=gateway)])
        self.api.create_network(
            name, driver="bridge", ipam=ipam, check_duplicate=True,
            options={"com.docker.network.bridge.enable_ip_masquerade": "false"},
            labels={podspec.LABEL_MANAGED: "true"},
        )

    def close(self) -> None:
        self.api.close()


def _split_image(image: str) -> tuple[str, str | None]:
    if "@" in image:
        return image, None
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return repo, tag
    return image, "latest"


def _explain(e: docker.errors.APIError) -> str:
    return str(getattr(e, "explanation", None) or e)


_PAUSE_DOCKERFILE = b"""FROM scratch
COPY busybox /busybox
ENTRYPOINT ["/busybox", "sh", "-c", "trap 'exit 0' TERM INT; while :; do /busybox sleep 3600 & wait; done"]
"""


def _pause_context(busybox: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in (("Dockerfile", _PAUSE_DOCKERFILE), ("busybox", busybox.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
