"""Runs the probes of running containers, one thread per container.

The decisions live in ``node/probes.py``; this module only times the checks
and performs them: ``exec`` through the runtime, ``httpGet`` and
``tcpSocket`` to the pod IP from the agent's own network namespace (the pod
network's bridge lives there). Results are read by the sync loop, which kills
containers whose liveness or startup probe gave up and reports readiness.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import podspec
from .metrics import PROBE_RESULTS
from .probes import LIVENESS, READINESS, SPEC_KEYS, STARTUP, ProbeState
from .runtime import Runtime

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass(frozen=True)
class ProbeTarget:
    container_id: str
    pod_name: str
    container: Obj  # the container's spec
    pod_ip: str
    started_at: float
    # The API already showed this container ready (the agent restarted): keep it
    # ready until a probe says otherwise, so Endpoints do not flap.
    was_ready: bool = False
    pod: Obj = field(default_factory=dict, compare=False)  # what its events are about


def run_check(runtime: Runtime, target: ProbeTarget, spec: Obj, timeout: float) -> tuple[bool, str]:
    """Perform one check; (ok, message explaining a failure)."""
    try:
        if "exec" in spec:
            code, out = runtime.exec(target.container_id, list(spec["exec"].get("command") or []),
                                     timeout)
            return code == 0, f"exec probe exited {code}: {out.strip()[:200]}"
        if "httpGet" in spec:
            return _http(target, spec["httpGet"], timeout)
        if "tcpSocket" in spec:
            tcp = spec["tcpSocket"]
            port = podspec.container_port(target.container, tcp["port"])
            with socket.create_connection((tcp.get("host") or target.pod_ip, port), timeout):
                return True, ""
        return False, "probe has no exec, httpGet or tcpSocket handler"
    except (OSError, http.client.HTTPException, podspec.ConfigError) as e:
        return False, f"probe failed: {e}"


def _http(target: ProbeTarget, get: Obj, timeout: float) -> tuple[bool, str]:
    port = podspec.container_port(target.container, get["port"])
    host = get.get("host") or target.pod_ip
    if get.get("scheme", "HTTP").upper() == "HTTPS":
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, port, timeout=timeout, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {h["name"]: h["value"] for h in get.get("httpHeaders") or []}
    headers.setdefault("User-Agent", "coxswain-probe/1")
    try:
        conn.request("GET", get.get("path") or "/", headers=headers)
        code = conn.getresponse().status
    finally:
        conn.close()
    return 200 <= code < 400, f"HTTP probe failed with statuscode: {code}"


class _Worker:
    def __init__(self, manager: ProbeManager, target: ProbeTarget) -> None:
        self.m = manager
        self.target = target
        self.states: dict[str, ProbeState] = {}
        for kind, key in SPEC_KEYS.items():
            if target.container.get(key):
                self.states[kind] = ProbeState.from_spec(kind, target.container[key],
                                                         target.started_at)
        if target.was_ready:
            for kind in (READINESS, STARTUP):
                if kind in self.states:
                    self.states[kind].result = True
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True,
                                       name=f"probe-{target.container_id[:12]}")

    @property
    def started(self) -> bool:
        s = self.states.get(STARTUP)
        return s is None or s.done

    def _active(self) -> list[ProbeState]:
        if not self.started:
            return [self.states[STARTUP]]
        return [s for k, s in self.states.items() if k != STARTUP]

    def failure(self) -> str | None:
        for kind in (STARTUP, LIVENESS):
            s = self.states.get(kind)
            if s is not None and s.failed:
                return f"{kind.capitalize()} probe failed: {s.message}"
        return None

    def _loop(self) -> None:
        while not self.stop_event.is_set() and self.failure() is None:
            active = self._active()
            if not active:
                return
            state = min(active, key=lambda s: s.next_due())
            delay = state.next_due() - self.m.clock()
            if delay > 0 and self.stop_event.wait(delay):
                return
            spec = self.target.container[SPEC_KEYS[state.kind]]
            ok, message = run_check(self.m.runtime, self.target, spec, state.timeout)
            PROBE_RESULTS.labels(state.kind, "success" if ok else "failure").inc()
            with self.m.lock:
                flipped = state.record(ok, self.m.clock(), message)
            if not ok:
                self.m.on_failure(self.target, state.kind, message)
            if flipped or state.failed or (state.kind == STARTUP and state.done):
                if not ok:
                    log.info("%s probe of %s/%s: %s", state.kind, self.target.pod_name,
                             self.target.container.get("name"), message)
                self.m.on_change()


class ProbeManager:
    def __init__(self, runtime: Runtime, on_change: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time,
                 on_failure: Callable[[ProbeTarget, str, str], None] = lambda *_: None) -> None:
        self.runtime = runtime
        self.on_change = on_change
        self.on_failure = on_failure  # (target, probe kind, message) after each failed check
        self.clock = clock
        self.lock = threading.Lock()
        self._workers: dict[str, _Worker] = {}

    def sync(self, targets: list[ProbeTarget], only_pods: set[str] | None = None) -> None:
        """Probe exactly these running containers; with ``only_pods`` (pod uids),
        of those pods (the others' probes are left as they are)."""
        wanted = {t.container_id: t for t in targets}
        with self.lock:  # pod workers read the table concurrently
            for cid in [c for c, w in self._workers.items() if c not in wanted and (
                    only_pods is None or _pod_uid(w.target) in only_pods)]:
                self._workers.pop(cid).stop_event.set()
            for cid, target in wanted.items():
                if cid not in self._workers:
                    w = _Worker(self, target)
                    self._workers[cid] = w
                    if w.states:
                        w.thread.start()

    def ready(self, cid: str, spec: Obj | None = None) -> bool:
        """Readiness: no readiness probe means ready once started. A container not
        probed yet (it started after the last ``sync``) is judged by its ``spec``:
        without a startup or readiness probe it is ready at once, as in kubelet, so
        the status that first shows it running already shows it ready."""
        with self.lock:
            w = self._workers.get(cid)
            if w is None:
                return spec is not None and not spec.get("startupProbe") \
                    and not spec.get("readinessProbe")
            s = w.states.get(READINESS)
            return w.started and (s is None or s.result)

    def started(self, cid: str, spec: Obj | None = None) -> bool:
        """Startup done; a container not probed yet has done it if it has no startup probe."""
        with self.lock:
            w = self._workers.get(cid)
            if w is None:
                return spec is not None and not spec.get("startupProbe")
            return w.started

    def unhealthy(self) -> dict[str, str]:
        """Containers whose liveness or startup probe gave up, with the reason."""
        with self.lock:
            out = {}
            for cid, w in self._workers.items():
                reason = w.failure()
                if reason:
                    out[cid] = reason
            return out

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every prober and join them (one in a check ends when it does)."""
        with self.lock:
            workers = list(self._workers.values())
            for w in workers:
                w.stop_event.set()
            self._workers.clear()
        deadline = time.monotonic() + timeout
        for w in workers:
            if w.thread.is_alive():
                w.thread.join(max(0.0, deadline - time.monotonic()))


def _pod_uid(target: ProbeTarget) -> str | None:
    return (target.pod.get("metadata") or {}).get("uid")
