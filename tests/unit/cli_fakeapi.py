"""A small in-process fake of the coxswain API for the ``cox`` CLI tests.

A Flask app served on a loopback port by a thread, so the CLI's real
``coxapi.Client`` talks real HTTP to it. It keeps objects in a dict and
behaves like the Kubernetes API for the calls the CLI makes: CRUD, merge
patch, the scale subresource, label/field selectors, watch, pod logs,
``/status/raft``, ``/raft/members``, bearer-token auth and ``Status`` errors. Tests script
special behaviour through hooks (``on_get``, ``on_watch``, ``reject``).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.serving import make_server

from coxapi import errors as api
from coxapi.kinds import KINDS, Kind
from coxapi.labels import matches, parse_selector
from coxapi.meta import merge_patch

TOKEN = "s3cret-admin-token"
Obj = dict[str, Any]

_BY_PREFIX: dict[tuple[str, str], Kind] = {(k.group_version_prefix, k.plural): k for k in KINDS}


def _field(obj: Obj, path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return "" if cur is None else str(cur)


class FakeApi:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], Obj] = {}
        self.revision = 100
        self.history: list[tuple[int, str, Obj]] = []
        self.requests: list[tuple[str, str, dict, Any]] = []
        self.token = TOKEN
        self.raft_status: Obj = {"name": "m1", "id": "127.0.0.1:7001", "role": "leader",
                                 "term": 3, "commit_index": 42, "applied_index": 42}
        self.raft_members: Obj = {"leader": "127.0.0.1:7001", "commit_index": 42, "members": [
            {"id": "127.0.0.1:7001", "voter": True, "connected": True, "match_index": 42},
            {"id": "127.0.0.1:7002", "voter": True, "connected": False, "match_index": 40}]}
        self.logs: dict[tuple[str, str, str], list[str]] = {}
        self.metrics: dict[str, list[Obj]] = {}  # Metrics API path -> its items
        # (method, plural) -> Status error to return; (plural, ns, name) -> fn(obj) on GET
        self.reject: dict[tuple[str, str], api.ApiError] = {}
        self.on_get: dict[tuple[str, str, str], Callable[[Obj], None]] = {}
        self.on_watch: Callable[[FakeApi], None] | None = None
        self.field_selectors = True  # False: answer fieldSelector with 400, like old servers
        self.lock = threading.RLock()
        self.app = self._make_app()
        self._server = None
        self.url = ""

    # ---- state -----------------------------------------------------------

    def add(self, obj: Obj, created: str | None = None) -> Obj:
        obj = copy.deepcopy(obj)
        kind = _kind_of(obj)
        meta = obj.setdefault("metadata", {})
        if kind.namespaced:
            meta.setdefault("namespace", "default")
        meta.setdefault("uid", str(uuid.uuid4()))
        meta.setdefault("creationTimestamp", created or datetime.now(UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"))
        meta.setdefault("generation", 1)
        obj.setdefault("apiVersion", kind.api_version)
        obj.setdefault("kind", kind.kind)
        return self._store(kind, obj, "ADDED")

    def _store(self, kind: Kind, obj: Obj, event: str) -> Obj:
        with self.lock:
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)
            key = (kind.plural, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            self.objects[key] = obj
            self.history.append((self.revision, event, copy.deepcopy(obj)))
            return copy.deepcopy(obj)

    def remove(self, plural: str, ns: str, name: str) -> Obj:
        with self.lock:
            obj = self.objects.pop((plural, ns, name))
            self.revision += 1
            obj["metadata"]["resourceVersion"] = str(self.revision)  # the delete's revision
            self.history.append((self.revision, "DELETED", copy.deepcopy(obj)))
            return obj

    def obj(self, plural: str, name: str, ns: str = "default") -> Obj:
        return self.objects[(plural, ns, name)]

    def calls(self, method: str) -> list[tuple[str, str, dict, Any]]:
        return [r for r in self.requests if r[0] == method]

    # ---- serving ---------------------------------------------------------

    def start(self) -> FakeApi:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # keep stderr for the CLI
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ---- the API -----------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("cli-fakeapi")

        @app.errorhandler(api.ApiError)
        def _api_error(e: api.ApiError) -> Response:
            return Response(json.dumps(e.to_status()), e.code, mimetype="application/json")

        @app.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        def handle(path: str) -> Response:
            body = request.get_json(silent=True)
            self.requests.append((request.method, "/" + path, dict(request.args), body))
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                raise api.Unauthorized("Unauthorized")
            if path == "status/raft":
                return _json(self.raft_status)
            if path == "raft/members":
                return _json(self.raft_members)
            if path.startswith("apis/metrics.k8s.io/v1beta1/"):
                return _json({"kind": "List", "items": self.metrics.get("/" + path, [])})
            return self._resource("/" + path, body)

        return app

    def _resource(self, path: str, body: Any) -> Response:
        kind, ns, name, sub = _route(path)
        err = self.reject.get((request.method, kind.plural))
        if err is not None:
            raise err
        args = request.args
        if name is None:
            if request.method == "POST":
                return self._create(kind, ns, body)
            if args.get("watch") == "true":
                return self._watch(kind, ns, args)
            return _json(self._list(kind, ns, args))
        key = (kind.plural, ns or "", name)
        with self.lock:
            hook = self.on_get.get(key)
            if request.method == "GET" and hook is not None and key in self.objects:
                hook(self.objects[key])
            live = copy.deepcopy(self.objects.get(key))
        if live is None:
            raise api.NotFound(f'{_plural_name(kind)} "{name}" not found')
        if sub == "log":
            c = args.get("container", "")
            lines = self.logs.get((ns or "", name, c), [])
            if args.get("tailLines"):
                lines = lines[-int(args["tailLines"]):]
            return Response("".join(line + "\n" for line in lines), mimetype="text/plain")
        if sub == "scale":
            return self._scale(kind, live, body)
        if request.method == "GET":
            return _json(live)
        if request.method == "DELETE":
            self.remove(kind.plural, ns or "", name)
            return _json(live)
        if request.method == "PATCH":
            rv = ((body or {}).get("metadata") or {}).get("resourceVersion")
            if rv and rv != live["metadata"]["resourceVersion"]:
                raise api.Conflict("the object has been modified")
            new = merge_patch(live, body)
        else:  # PUT
            new = body
            if new["metadata"].get("resourceVersion") != live["metadata"]["resourceVersion"]:
                raise api.Conflict("the object has been modified")
        self._validate(kind, new)
        for k in ("uid", "creationTimestamp", "namespace", "name"):
            if k in live["metadata"]:
                new["metadata"][k] = live["metadata"][k]
        if new.get("spec") != live.get("spec"):
            new["metadata"]["generation"] = live["metadata"].get("generation", 1) + 1
        return _json(self._store(kind, new, "MODIFIED"))

    def _validate(self, kind: Kind, obj: Obj) -> None:
        replicas = (obj.get("spec") or {}).get("replicas")
        if kind.kind == "Deployment" and isinstance(replicas, int) and replicas < 0:
            raise api.Invalid.fields("Deployment", obj["metadata"]["name"], [
                ("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0")])

    def _create(self, kind: Kind, ns: str | None, body: Obj) -> Response:
        name = body["metadata"]["name"]
        if (kind.plural, ns or "", name) in self.objects:
            raise api.AlreadyExists(f'{_plural_name(kind)} "{name}" already exists')
        self._validate(kind, body)
        if ns:
            body["metadata"]["namespace"] = ns
        return _json(self.add(body), 201)

    def _scale(self, kind: Kind, live: Obj, body: Any) -> Response:
        if request.method in ("PATCH", "PUT"):
            live["spec"]["replicas"] = body["spec"]["replicas"]
            live["metadata"]["generation"] = live["metadata"].get("generation", 1) + 1
            live = self._store(kind, live, "MODIFIED")
        return _json({"kind": "Scale", "apiVersion": "autoscaling/v1",
                      "metadata": {"name": live["metadata"]["name"]},
                      "spec": {"replicas": live["spec"].get("replicas")}})

    def _select(self, kind: Kind, ns: str | None, args: Any, objs: list[Obj]) -> list[Obj]:
        sel = parse_selector(args.get("labelSelector"))
        out = [o for o in objs if (not ns or o["metadata"].get("namespace") == ns)
               and matches(sel, o["metadata"].get("labels"))]
        fs = args.get("fieldSelector")
        if fs:
            if not self.field_selectors:
                raise api.BadRequest(f'field label not supported: "{fs}"')
            for part in fs.split(","):
                f, _, v = part.partition("=")
                out = [o for o in out if _field(o, f) == v]
        return out

    def _list(self, kind: Kind, ns: str | None, args: Any) -> Obj:
        with self.lock:
            objs = [copy.deepcopy(o) for (plural, _, _), o in sorted(self.objects.items())
                    if plural == kind.plural]
            rev = self.revision
        items = self._select(kind, ns, args, objs)
        for o in items:  # list items come without type meta, as from Kubernetes
            o.pop("kind", None)
            o.pop("apiVersion", None)
        return {"kind": f"{kind.kind}List", "apiVersion": kind.api_version,
                "metadata": {"resourceVersion": str(rev)}, "items": items}

    def _watch(self, kind: Kind, ns: str | None, args: Any) -> Response:
        since = int(args.get("resourceVersion") or 0)
        if self.on_watch is not None:
            hook, self.on_watch = self.on_watch, None
            hook(self)
        with self.lock:
            events = [(e, o) for rev, e, o in self.history
                      if rev > since and o["kind"] == kind.kind]
        lines = [json.dumps({"type": e, "object": o}) + "\n"
                 for e, o in events if self._select(kind, ns, args, [o])]
        return Response(lines, mimetype="application/json")


def _json(obj: Any, code: int = 200) -> Response:
    return Response(json.dumps(obj), code, mimetype="application/json")


def _kind_of(obj: Obj) -> Kind:
    return next(k for k in KINDS if k.kind == obj.get("kind"))


def _plural_name(kind: Kind) -> str:
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


def _route(path: str) -> tuple[Kind, str | None, str | None, str | None]:
    segs = path.strip("/").split("/")
    if segs[0] == "api":
        prefix, rest = "/" + "/".join(segs[:2]), segs[2:]
    else:
        prefix, rest = "/" + "/".join(segs[:3]), segs[3:]
    ns = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        ns, rest = rest[1], rest[2:]
    kind = _BY_PREFIX.get((prefix, rest[0] if rest else ""))
    if kind is None:
        raise api.NotFound(f"the server could not find the requested resource ({path})")
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return kind, ns, name, sub


# ---- running cox against the fake ------------------------------------------------


def write_kubeconfig(path: Any, servers: list[str], token: str | None = TOKEN,
                     namespace: str | None = None, ca_file: str | None = None) -> str:
    """A kubeconfig naming every master, as ``cox master init`` writes it
    (with the cluster CA inline when the servers are HTTPS)."""
    import base64

    import yaml

    ctx: Obj = {"cluster": "cox", "user": "admin"}
    if namespace:
        ctx["namespace"] = namespace
    user: Obj = {"token": token} if token else {}
    data = {"apiVersion": "v1", "kind": "Config", "current-context": "cox",
            "clusters": [{"name": "cox", "cluster": {"server": servers[0],
                                                     "x-coxswain-servers": servers}}],
            "users": [{"name": "admin", "user": user}],
            "contexts": [{"name": "cox", "context": ctx}]}
    if ca_file:
        data["clusters"][0]["cluster"]["certificate-authority-data"] = base64.b64encode(
            Path(ca_file).read_bytes()).decode()
    path.write_text(yaml.safe_dump(data))
    return str(path)


class FakeClock:
    """A clock that only moves when the CLI sleeps, so waits take no real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.t = start or datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.t

    def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.sleeps.append(seconds)
        self.t += timedelta(seconds=seconds)


def cox(kubeconfig: str | None, *args: str, input: str | None = None,
        clock: FakeClock | None = None) -> Any:
    """Run ``cox --kubeconfig KUBECONFIG ARGS`` in-process; returns click's Result."""
    from click.testing import CliRunner

    from cli.commands.context import CliContext
    from cli.main import cox as group

    obj = CliContext(clock=clock.now, sleep=clock.sleep) if clock else None
    argv = (["--kubeconfig", kubeconfig] if kubeconfig else []) + list(args)
    result = CliRunner().invoke(group, argv, input=input, obj=obj)
    # The CLI must never let an exception escape (click's Exit is how it sets the code).
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"exception escaped: {result.exception!r}\n{result.output}")
    return result
