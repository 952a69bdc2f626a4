"""A small HTTP client for the coxswain API with master failover and watch.

Every master answers every request, so the client sticks to the server that
last answered and moves to the next one when that is safe:

- when no connection could be made (refused, unresolvable, connect timeout):
  the request never left this process, whatever its verb;
- for reads (GET, HEAD), on any connection error, timeout or 503;
- for writes (POST, PUT, PATCH, DELETE), on a 503 whose Status carries the
  cause ``NotApplied`` (``coxapi.errors.not_applied``): the master refused it
  before asking the store to commit (the store was closed, or the linearizable
  read a write starts with found no leader).

Anything else that befalls a write after it was sent (a read timeout, a
connection reset, a plain 503 such as the store's "no quorum within the
deadline") leaves its outcome unknown: it may have committed. Re-sending it
could create an object twice (generateName), answer AlreadyExists or NotFound
for a write that succeeded, or apply a JSON patch twice, so the client raises
``OutcomeUnknown`` (an ``Unavailable``) instead and the caller reads back.
A PUT counts as a write: even with a resourceVersion precondition, a re-sent
PUT that had committed answers a misleading 409 Conflict.

API errors come back as ``coxapi.errors`` exceptions; when no server answers
at all, ``ClusterUnreachable``.

Masters serve HTTPS: ``ca_file`` is the cluster CA every master's certificate
must chain to (kubeconfig's certificate-authority); without it, the CA bundle
the environment names, else the system's. Verification is never off.

With ``discover_interval`` the client also refreshes its server list from the
cluster (coxapi/discovery.py) every that many seconds and after any request
that had to move on from a master, so a long-running client (a node agent)
started with masters that were since removed keeps reaching the cluster.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from . import discovery, kinds
from .errors import ApiError, ClusterUnreachable, OutcomeUnknown, Unavailable, is_not_applied
from .transport import Reply, Transport, TransportError, never_connected, url_for

log = logging.getLogger(__name__)

# Kept-alive connections per master shared by a client's threads; more at once
# are opened and closed after use.
POOL_SIZE = 16

Obj = dict[str, Any]


class _Default(enum.Enum):
    """The type of ``_DEFAULT``: "the client's timeout", as opposed to None (no timeout)."""

    TOKEN = 0


_DEFAULT = _Default.TOKEN

WATCH_SILENCE = 60.0  # seconds without a byte, bookmarks included, before a watch is dead
DISCOVER_INTERVAL = 30.0  # seconds between refreshes of a long-running client's master list
SAFE_METHODS = frozenset({"GET", "HEAD"})  # may be sent again whatever became of them


class Client:
    def __init__(self, servers: list[str] | str, token: str | None = None, timeout: float = 10.0,
                 user_agent: str = "coxswain", ca_file: str | None = None,
                 discover_interval: float | None = None, connect_timeout: float = 3.0) -> None:
        """``connect_timeout``: seconds for the TCP connection and TLS handshake
        to one master, after which the next is tried; ``timeout``: for the answer."""
        if isinstance(servers, str):
            servers = [servers]
        if not servers:
            raise ValueError("at least one API server address is required")
        self.servers = [s.rstrip("/") for s in servers]
        self._seeds = list(self.servers)
        self._discover_interval = discover_interval
        self._discovered_at = -float("inf")
        self._discovering = threading.Lock()
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ca_file = ca_file
        self._current = 0
        self._lock = threading.Lock()
        # One pool of kept-alive connections for every thread: a thread that
        # has not spoken yet (a node agent's pod workers come and go) takes an
        # idle connection instead of a new TCP and TLS handshake each.
        self._transport = Transport(self._environment[1], POOL_SIZE)
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    @property
    def authorization(self) -> str | None:
        """The Authorization header sent, for connections beside requests (WebSockets)."""
        return self._headers.get("Authorization")

    # ---- transport -------------------------------------------------------

    @functools.cached_property
    def _environment(self) -> tuple[dict[str, str], str | None]:
        """Read once, not per request: the proxy of each server (after
        NO_PROXY), and the CA bundle: ours, else the one the environment names
        (None: the system's)."""
        proxies = {}
        for server in self.servers:
            proxy = _proxy_for(server)
            if proxy:
                proxies[server] = proxy
        bundle = (self.ca_file or os.environ.get("REQUESTS_CA_BUNDLE")
                  or os.environ.get("CURL_CA_BUNDLE"))
        return proxies, bundle or None

    def _order(self) -> list[str]:
        with self._lock:
            start, servers = self._current, self.servers
        return [servers[(start + i) % len(servers)] for i in range(len(servers))]

    # ---- discovery -------------------------------------------------------

    def _discover_if_due(self) -> None:
        if (self._discover_interval is None
                or time.monotonic() - self._discovered_at < self._discover_interval
                or not self._discovering.acquire(blocking=False)):
            return
        try:
            self.discover()
        finally:
            self._discovering.release()

    def discover(self) -> None:
        """Refresh the server list from the cluster's record of its masters;
        the list stays as it was when that record cannot be read."""
        looked_at = time.monotonic()
        try:
            resp = self._send("GET", discovery.ENDPOINTS_PATH, discover=False)
            endpoints = resp.json() if resp.status_code == 200 else None
            resp.close()
        except (Unavailable, ClusterUnreachable) as e:
            # Refused for want of a leader, or no master reached: a failover is under
            # way, and the request that follows may reach the new leader. Look again
            # before the next one, or the list stays as it was for a whole interval.
            log.debug("cannot refresh the masters yet: %s", e)
            self._discovered_at = -float("inf")
            return
        except (ApiError, TransportError, ValueError) as e:
            log.debug("cannot refresh the masters: %s", e)
            self._discovered_at = looked_at
            return
        self._discovered_at = looked_at
        found = discovery.master_urls(endpoints, discovery.scheme_of(self._seeds))
        if found:
            self._set_servers(discovery.merged(found, self._seeds))

    def _set_servers(self, servers: list[str]) -> None:
        with self._lock:
            if servers == self.servers:
                return
            current = self.servers[self._current]
            self._current = servers.index(current) if current in servers else 0
            self.servers = servers
            self.__dict__.pop("_environment", None)  # the proxies, worked out per server
        log.info("masters: %s", ", ".join(servers))

    def _send(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
              content_type: str = "application/json", stream: bool = False,
              timeout: float | None | _Default = _DEFAULT,
              headers: dict[str, str] | None = None, discover: bool = True,
              ) -> Reply:
        """``timeout`` is the read timeout: the client's default, a number, or None
        for none at all (a followed log stream may be quiet for hours)."""
        if discover:
            self._discover_if_due()
        data = None if body is None else json.dumps(body).encode()
        headers = {**self._headers,
                   **({"Content-Type": content_type} if data is not None else {}),
                   **(headers or {})}
        timeouts = (self.connect_timeout, self.timeout if timeout is _DEFAULT else timeout)
        resend = method.upper() in SAFE_METHODS
        last_error: Exception | None = None
        transport, proxies = self._transport, self._environment[0]
        for server in self._order():
            url = url_for(server, path, params)
            try:
                resp = transport.send(method, url, data, headers, stream, timeouts,
                                      proxies.get(server))
            except TransportError as e:  # also a master that died halfway through its answer
                if not (resend or never_connected(e)):
                    raise OutcomeUnknown(
                        f"{method} {url}: the connection failed after the request was sent "
                        f"({e}); it may or may not have been applied") from e
                last_error = e
                self._discovered_at = -float("inf")  # a master is gone: look again next time
                log.debug("%s %s failed: %s; trying next master", method, url, e)
                continue
            if resp.status_code == 503:
                err = _error_from(resp)
                resp.close()
                self._discovered_at = -float("inf")  # a master without a leader: look again
                if not (resend or is_not_applied(err)):
                    raise OutcomeUnknown(f"{method} {url}: {err.message}; it may or may not "
                                         "have been applied", err.details)
                last_error = err
                continue
            if resp.status_code == 429:  # refused before anything was done: another may serve
                last_error = _error_from(resp)
                resp.close()
                continue
            with self._lock:
                if server in self.servers:
                    self._current = self.servers.index(server)
            return resp
        if isinstance(last_error, ApiError):
            raise last_error
        raise ClusterUnreachable(
            f"no API server answered ({', '.join(self.servers)}): {last_error}"
        )

    def request(self, method: str, path: str, *, params: dict | None = None, body: Any = None,
                content_type: str = "application/json",
                timeout: float | None | _Default = _DEFAULT,
                headers: dict[str, str] | None = None) -> Any:
        """``headers``: extra request headers (an ``Accept`` asking for a Table)."""
        resp = self._send(method, path, params=params, body=body, content_type=content_type,
                          timeout=timeout, headers=headers)
        if resp.status_code >= 400:
            raise _error_from(resp)
        if not resp.content:
            return None
        if resp.headers.get("Content-Type", "").startswith("application/json"):
            return resp.json()
        return resp.text

    def stream_text(self, path: str, params: dict | None = None) -> Iterator[str]:
        """Stream a text response (logs) line by line."""
        resp = self._send("GET", path, params=params, stream=True, timeout=None)
        if resp.status_code >= 400:
            raise _error_from(resp)
        with resp:
            yield from resp.iter_lines()

    # ---- typed verbs -----------------------------------------------------

    @staticmethod
    def _kind(kind: str | kinds.Kind) -> kinds.Kind:
        return kind if isinstance(kind, kinds.Kind) else kinds.lookup(kind)

    def get(self, kind: str | kinds.Kind, name: str, namespace: str | None = "default",
            resource_version: str | None = None) -> Obj:
        """``resource_version="0"``: any recent version will do (the master's own
        replica answers, without a Raft round trip); default: the latest."""
        k = self._kind(kind)
        return self.request("GET", k.path(namespace, name),
                            params=_params(resourceVersion=resource_version))

    def list(self, kind: str | kinds.Kind, namespace: str | None = None,
             label_selector: str | None = None, field_selector: str | None = None,
             limit: int | None = None, continue_token: str | None = None,
             resource_version: str | None = None) -> Obj:
        """``resource_version="0"``: served from the master's watch cache, any
        recent state (Kubernetes' semantics); default: a consistent list."""
        k = self._kind(kind)
        params = _params(labelSelector=label_selector, fieldSelector=field_selector,
                         limit=limit, resourceVersion=resource_version,
                         **{"continue": continue_token})
        return self.request("GET", k.path(namespace), params=params)

    def create(self, obj: Obj, namespace: str | None = None) -> Obj:
        k = kinds.for_object(obj)
        ns = namespace or obj.get("metadata", {}).get("namespace") or "default"
        return self.request("POST", k.path(ns), body=obj)

    def update(self, obj: Obj, subresource: str | None = None) -> Obj:
        k = kinds.for_object(obj)
        meta = obj.get("metadata", {})
        ns = meta.get("namespace") or "default"
        return self.request("PUT", k.path(ns, meta["name"], subresource), body=obj)

    def update_status(self, obj: Obj) -> Obj:
        return self.update(obj, "status")

    def patch(self, kind: str | kinds.Kind, name: str, patch: Obj,
              namespace: str | None = "default", subresource: str | None = None) -> Obj:
        k = self._kind(kind)
        return self.request("PATCH", k.path(namespace, name, subresource), body=patch,
                            content_type="application/merge-patch+json")

    def delete(self, kind: str | kinds.Kind, name: str, namespace: str | None = "default",
               propagation: str | None = None, grace_period: int | None = None) -> Obj | None:
        k = self._kind(kind)
        body: Obj = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation:
            body["propagationPolicy"] = propagation
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        return self.request("DELETE", k.path(namespace, name), body=body)

    def watch(self, kind: str | kinds.Kind, namespace: str | None = None,
              resource_version: str | int | None = None, label_selector: str | None = None,
              field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Iterator[tuple[str, Obj]]:
        """Yield ``(type, object)`` for ADDED/MODIFIED/DELETED (and BOOKMARK).

        An ``ERROR`` event (e.g. 410 Gone when the revision was compacted) is
        raised as the matching ``ApiError``; the caller re-lists and watches
        again from the new list's resourceVersion.
        """
        k = self._kind(kind)
        params = _params(watch="true", resourceVersion=resource_version,
                         labelSelector=label_selector, fieldSelector=field_selector,
                         timeoutSeconds=timeout_seconds, allowWatchBookmarks="true")
        # Masters send a bookmark every 15 s on a quiet watch, so a minute of
        # silence means a dead connection (a frozen or cut-off master).
        resp = self._send("GET", k.path(namespace), params=params, stream=True,
                          timeout=WATCH_SILENCE)
        if resp.status_code >= 400:
            raise _error_from(resp)
        with resp:
            for line in resp.iter_lines():
                if not line:
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    raise ApiError.from_status(event.get("object") or {})
                yield event["type"], event["object"]

    def close(self) -> None:
        """Close the kept-alive connections (every thread's: they share them)."""
        self._transport.close()


def _proxy_for(server: str) -> str | None:
    """The proxy the environment names for ``server`` (HTTPS_PROXY, ALL_PROXY,
    NO_PROXY with its host names, suffixes and CIDRs, as requests reads them)."""
    from requests.utils import get_environ_proxies  # once per server, not per request

    scheme = server.partition("://")[0]
    found = get_environ_proxies(server)
    return found.get(scheme) or found.get("all")


def _params(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None and v != ""}


def _error_from(resp: Reply) -> ApiError:
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("kind") == "Status":
        return ApiError.from_status(body, resp.status_code)
    text = (resp.text or "").strip()[:200] or resp.reason
    err = ApiError.from_status({"code": resp.status_code, "message": text}, resp.status_code)
    if resp.status_code == 503 and not isinstance(err, Unavailable):
        return Unavailable(text)
    return err
