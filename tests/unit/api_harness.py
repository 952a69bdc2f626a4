"""A master's API over an in-memory store, for the fast API tests."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import requests
from werkzeug.test import TestResponse

from master.admission.namespaces import ensure_system_namespaces
from master.api import ApiConfig, create_app, state_of
from master.asgi import ApiApp
from master.auth import TokenAuthenticator, TokenEntry, User
from master.server import ApiServer
from raftstore import MemoryStore, Store, nonblocking
from tests.support import https_session, local_pki

ADMIN_TOKEN = "admin-token-for-tests"
NODE_TOKEN = "node-token-for-tests"


class CountingStore(MemoryStore):
    """Counts linearizable reads; ``behind`` hides keys from this replica's
    own (non-linearizable) reads, as a follower that has not applied them yet."""

    def __init__(self) -> None:
        super().__init__()
        self.barriers = 0
        self.behind: set[str] = set()
        self.lagging: dict[str, Any] = {}  # key -> the older value this replica still has

    def get(self, key: str, linearizable: bool = True):  # noqa: ANN201 - the store's signature
        if linearizable:
            nonblocking.check("a linearizable read")  # as the store: refused before it is made
            self.barriers += 1
        elif key in self.behind:
            return None
        elif key in self.lagging:
            return self.lagging[key]
        return super().get(key, linearizable)


class Api:
    """A test client that sends the admin token and decodes JSON."""

    def __init__(self, store: Store | None = None, tokens: tuple[TokenEntry, ...] = (),
                 **config: Any) -> None:
        self.store = store if store is not None else MemoryStore()
        auth = TokenAuthenticator([
            TokenEntry(ADMIN_TOKEN, User("admin", "admin", ("system:masters",))),
            TokenEntry(NODE_TOKEN, User("system:node:n1", "n1", ("system:nodes",))),
            *tokens,
        ])
        config.setdefault("watch_poll_seconds", 0.05)
        self.app = create_app(ApiConfig(name="m-test", authenticator=auth, **config), self.store)
        self.state = state_of(self.app)
        self.objects = self.state.objects
        self.client = self.app.test_client()
        self.server: ApiServer | None = None
        self.server_threads = 8  # of the server's WSGI pool
        # POSTs go through the ASGI app, as on a master: creates take the
        # direct path there (master.api.directcreate), the rest reach Flask
        self.asgi = ApiApp(self.app, threads=2)
        self.ca_file = local_pki().ca_file  # what a client of ``url`` verifies against
        ensure_system_namespaces(self.objects)

    def request(self, method: str, path: str, body: Any = None, *, token: str | None = ADMIN_TOKEN,
                content_type: str = "application/json", raw: bytes | None = None,
                query: dict | None = None) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        data = raw if raw is not None else (None if body is None else json.dumps(body))
        if method in ("POST", "DELETE") or (method == "PUT" and path.endswith("/status")):
            # as a master takes them: creates, TokenRequests, status writes and
            # deletes skip Flask (master.api.directcreate, directtoken, directstatus,
            # directdelete)
            if data is not None:
                headers["Content-Type"] = content_type
            return self.asgi_request(method, path, headers, data, query)
        return self.client.open(path, method=method, data=data, headers=headers,
                                content_type=content_type if data is not None else None,
                                query_string=query)

    def asgi_request(self, method: str, path: str, headers: dict[str, str],
                     data: str | bytes | None, query: dict | None = None) -> TestResponse:
        """One request through the master's ASGI app, in this thread (no socket)."""
        body = data.encode() if isinstance(data, str) else (data or b"")
        path, _, query_string = path.partition("?")
        if query:
            query_string = "&".join(q for q in (query_string, urlencode(query, doseq=True)) if q)
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
                 "query_string": query_string.encode(), "root_path": "",
                 "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                 + [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())],
                 "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 443)}
        sent: list[dict] = []
        delivered = False

        async def receive() -> dict:
            nonlocal delivered
            if delivered:  # nothing more: as a client that went away
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        asyncio.run(self.asgi(scope, receive, send))
        start, payload = sent[0], b"".join(m.get("body", b"") for m in sent[1:])
        return TestResponse(payload, start["status"],
                            [(k.decode("latin-1"), v.decode("latin-1"))
                             for k, v in start["headers"]], request=None)  # type: ignore[arg-type]

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> Any:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json",
              **kw: Any) -> Any:
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("DELETE", path, body, **kw)

    @property
    def url(self) -> str:
        """The app behind the master's real server (master.asgi on uvicorn, HTTPS
        as masters serve it) on a loopback port, started on first use: watches
        are served there only. Clients verify it with ``ca_file``."""
        if self.server is None:
            self.server = ApiServer(ApiApp(self.app, threads=self.server_threads), "127.0.0.1", 0,
                                    tls=local_pki().tls)
            self.server.start()
        host, port = self.server.address
        return f"https://{host}:{port}"

    def session(self) -> requests.Session:
        """A requests session that verifies ``url`` against the test CA."""
        return https_session(self.ca_file)

    def close(self) -> None:
        self.asgi.workers.shutdown(wait=False)
        self.asgi.heartbeat_pool.shutdown(wait=False)
        if self.server is not None:
            self.server.stop()
        self.state.caches.stop()

    def watch(self, path: str, query: dict, max_events: int = 100,
              token: str = ADMIN_TOKEN) -> list[dict]:
        """Read a watch stream until it ends (timeoutSeconds) or ``max_events`` arrive."""
        with requests.get(self.url + path, params={"watch": "true", **query}, stream=True,
                          headers={"Authorization": f"Bearer {token}"}, timeout=30,
                          verify=self.ca_file) as resp:
            assert resp.status_code == 200, resp.text
            events = []
            for line in resp.iter_lines():
                if line.strip():
                    events.append(json.loads(line))
                if len(events) >= max_events:
                    break
        return events


def pod(name: str, ns: str | None = "default", labels: dict | None = None,
        node: str | None = None, **spec: Any) -> dict:
    meta: dict = {"name": name}
    if ns:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    s = {"containers": [{"name": "app", "image": "busybox:1.36"}], **spec}
    if node:
        s["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": s}


def deployment(name: str, replicas: int = 2, labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}}
