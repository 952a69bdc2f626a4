"""Helpers shared by the slow test layers: waiting on conditions with a
deadline, free loopback ports, and child processes that are always reaped."""

from __future__ import annotations

import atexit
import functools
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

T = TypeVar("T")


def wait_until(cond: Callable[[], T], timeout: float, interval: float = 0.05,
               what: str = "condition") -> T:
    """Poll ``cond`` until it returns a truthy value; fail with ``what`` at the deadline.
    Exceptions raised by ``cond`` count as "not yet" and the last one is reported."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            value = cond()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported at the deadline
            last_exc = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_exc!r})" if last_exc else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def ephemeral_range() -> tuple[int, int]:
    try:
        lo, hi = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(lo), int(hi)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


_handed_out: set[int] = set()
_port_lock = threading.Lock()
_port_rng = random.Random()


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on, for a server a test starts next.

    Not from the kernel's ephemeral range: any outgoing connection made
    before the server binds may take such a port as its source port (a Raft
    replica then retries its bind while its peers reach another process). And
    never one handed out before in this process: the server it went to may not
    have bound it yet."""
    lo, hi = ephemeral_range()
    first, last = (max(1024, lo - 16384), lo - 1) if lo > 4096 else (hi + 1, 65535)
    with _port_lock:
        for _ in range(1000):
            port = _port_rng.randint(first, last)
            if port in _handed_out:
                continue
            with socket.socket() as s:
                try:
                    s.bind((host, port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port in {first}-{last} after 1000 tries")


class Proc:
    """A child process started by a test, ended by its pid only."""

    def __init__(self, argv: list[str], log_path: str, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log_path = log_path
        self._env = env
        self.popen: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.popen = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                      env=self._env, start_new_session=True)
        log.close()

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL and reap."""
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``."""
        if not self.alive():
            return
        self.signal(signal.SIGCONT)  # a frozen process cannot act on SIGTERM
        self.signal(signal.SIGTERM)
        try:
            assert self.popen is not None
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, n: int = 40) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


@dataclass(frozen=True)
class LocalPki:
    """A CA and a serving certificate for localhost/127.0.0.1, as ``cox master init`` makes them."""

    ca_file: str
    cert_file: str
    key_file: str

    @property
    def tls(self) -> tuple[str, str]:
        return self.cert_file, self.key_file


@functools.cache
def local_pki() -> LocalPki:
    """One set per test process (making keys is cheap, but not free)."""
    from coxapi import pki

    d = pki.PkiDir(Path(tempfile.mkdtemp(prefix="cox-test-pki-")))
    atexit.register(shutil.rmtree, d.path, True)
    pki.ensure_ca(d)
    pki.ensure_serving(d, "test-master", ["localhost", "127.0.0.1"])
    return LocalPki(str(d.ca_cert), str(d.cert("test-master")), str(d.key("test-master")))


def https_session(ca_file: str) -> requests.Session:
    """A session that trusts only ``ca_file``. (requests lets $REQUESTS_CA_BUNDLE
    override a session's own ``verify`` unless the environment is ignored.)"""
    s = requests.Session()
    s.trust_env = False
    s.verify = ca_file
    return s


def tls_connect(url: str, ca_file: str, timeout: float = 10) -> socket.socket:
    """A raw TLS connection to ``url``'s host and port, verified against ``ca_file``,
    for tests that must send bytes no HTTP client would."""
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca_file)
    raw = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=parts.hostname)
