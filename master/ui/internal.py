"""Calls into the master's own API, in process, as the dashboard's user: the
same authentication, RBAC, admission and validation as any client gets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

AsgiApp = Callable[[dict, Any, Any], Awaitable[None]]


class Caller:
    """The API app, called with one user's bearer token."""

    def __init__(self, app: AsgiApp, token: str, client: tuple[str, int]) -> None:
        self.app, self.token, self.client = app, token, client

    async def __call__(self, method: str, path: str, body: Any = None, *,
                       query: dict[str, str] | None = None,
                       content_type: str = "application/json") -> tuple[int, Any]:
        """(status, decoded JSON body, or None)."""
        data = b"" if body is None else (body.encode() if isinstance(body, str)
                                         else json.dumps(body).encode())
        headers = [(b"authorization", f"Bearer {self.token}".encode()),
                   (b"accept", b"application/json"), (b"host", b"localhost")]
        if body is not None:
            headers += [(b"content-type", content_type.encode()),
                        (b"content-length", str(len(data)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "https", "path": path, "raw_path": path.encode(),
                 "root_path": "", "query_string": urlencode(query or {}).encode(),
                 "headers": headers, "client": self.client, "server": ("localhost", 443)}
        done = asyncio.Event()
        sent = False
        status, chunks = 500, []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": data, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    done.set()

        try:
            await self.app(scope, receive, send)
        finally:
            done.set()
        raw = b"".join(chunks)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, {"message": raw.decode(errors="replace")}
