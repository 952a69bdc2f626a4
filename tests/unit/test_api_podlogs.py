"""The pod log subresource proxies to the node agent (a fake agent on loopback),
on the API server's event loop: through the real server (master.asgi)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from coxapi import jwt
from tests.support import free_port, wait_until

from .api_harness import ADMIN_TOKEN, Api, pod

THREADS = 4  # the server's worker threads: fewer than the followers below


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    a.server_threads = THREADS
    yield a
    a.close()


def get_log(api: Api, name: str, query: dict | None = None, **kw: Any) -> requests.Response:
    return requests.get(f"{api.url}{POD}/{name}/log", params=query or {}, timeout=30,
                        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                        verify=api.ca_file, **kw)

POD = "/api/v1/namespaces/default/pods"


class FakeAgent:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, str | None]] = []
        self.following = 0  # followers the agent is streaming to now
        self.release = threading.Event()

        def follow() -> Iterator[bytes]:
            self.following += 1
            try:
                yield b"line 1\n"
                while not self.release.wait(0.05):
                    yield b"\n"  # a blank line: the agent notices a closed connection
                yield b"line 2\n"
            finally:
                self.following -= 1

        @Request.application
        def app(req: Request) -> Response:
            self.requests.append((req.path, dict(req.args), req.headers.get("Authorization")))
            if req.args.get("follow") == "true":
                return Response(follow(), mimetype="text/plain")
            if req.path.endswith("/missing"):
                return Response('{"kind":"Status","code":404,"reason":"NotFound",'
                                '"message":"no such container"}', 404,
                                mimetype="application/json")
            return Response(iter([b"line 1\n", b"line 2\n"]), mimetype="text/plain")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture
def agent() -> Iterator[FakeAgent]:
    a = FakeAgent()
    yield a
    a.close()


def add_node(api: Api, port: int) -> None:
    r = api.post("/api/v1/nodes", {"metadata": {"name": "n1"}, "status": {
        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}})
    assert r.status_code == 201


def test_logs_are_proxied_with_a_token_signed_for_that_node_only(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    r = get_log(api, "p", {"tailLines": "10", "follow": "false"})
    assert r.status_code == 200, r.text
    assert r.content == b"line 1\nline 2\n"
    path, args, auth = agent.requests[-1]
    assert path == "/containerLogs/default/p/app"
    assert args == {"tailLines": "10", "follow": "false"}
    assert auth is not None and ADMIN_TOKEN not in auth, "the admin token never reaches a node"
    keys = jwt.public_keys(api.get("/openid/v1/jwks").json)
    claims = jwt.verify(auth.removeprefix("Bearer "), keys, time.time(), "coxswain:node:n1")
    assert claims["sub"] == "system:master:m-test"
    with pytest.raises(jwt.InvalidToken):
        jwt.verify(auth.removeprefix("Bearer "), keys, time.time(), "coxswain:node:n2")


def test_agent_errors_pass_through_as_status(api, agent):
    add_node(api, agent.port)
    body = pod("p", node="n1")
    body["spec"]["containers"].append({"name": "missing", "image": "x:1"})
    api.post(POD, body)
    r = get_log(api, "p", {"container": "missing"})
    assert r.status_code == 404 and r.json()["message"] == "no such container"


def test_container_must_be_named_when_there_are_several(api, agent):
    add_node(api, agent.port)
    body = pod("p", node="n1")
    body["spec"]["containers"].append({"name": "side", "image": "x:1"})
    api.post(POD, body)
    r = get_log(api, "p")
    assert r.status_code == 400 and "app side" in r.json()["message"]
    assert get_log(api, "p", {"container": "nope"}).status_code == 400


def test_unreachable_agent_is_503(api):
    add_node(api, free_port())
    api.post(POD, pod("p", node="n1"))
    r = get_log(api, "p")
    assert r.status_code == 503 and "n1" in r.json()["message"]


def test_unscheduled_pod_has_no_logs(api):
    api.post(POD, pod("p"))
    assert get_log(api, "p").status_code == 400


def test_logs_need_a_token(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    r = requests.get(f"{api.url}{POD}/p/log", timeout=10, verify=api.ca_file)
    assert r.status_code == 401 and agent.requests == []


def test_many_followers_hold_no_worker_thread(api, agent):
    """Followers are streams on the event loop: more of them than the server has
    worker threads, and a plain request still answers at once."""
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    n = THREADS * 5
    followers = [get_log(api, "p", {"follow": "true"}, stream=True) for _ in range(n)]
    lines = [r.iter_lines() for r in followers]
    assert [next(it) for it in lines] == [b"line 1"] * n
    assert agent.following == n
    t0 = time.monotonic()
    r = requests.get(f"{api.url}{POD}", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                     timeout=10, verify=api.ca_file)
    assert r.status_code == 200 and time.monotonic() - t0 < 5
    agent.release.set()  # the logs go on, and then end: every follower gets the rest
    assert [[x for x in it if x] for it in lines] == [[b"line 2"]] * n


def test_a_follower_that_leaves_closes_its_agent_connection(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    r = get_log(api, "p", {"follow": "true"}, stream=True)
    assert next(r.iter_lines()) == b"line 1"
    assert agent.following == 1
    r.close()
    wait_until(lambda: agent.following == 0, 10, what="the agent's stream closed")


def test_the_flask_app_alone_does_not_serve_logs(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    assert api.get(f"{POD}/p/log").status_code == 400


def test_bad_log_options_are_refused_before_the_agent_is_asked(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    r = get_log(api, "p", {"sinceSeconds": "-5"})
    assert r.status_code == 400 and r.json()["message"].startswith("sinceSeconds:")
    assert agent.requests == []


def test_every_log_option_is_relayed_to_the_agent(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    query = {"sinceTime": "2024-01-01T00:00:00Z", "timestamps": "true", "previous": "true",
             "limitBytes": "10", "tailLines": "3"}
    assert get_log(api, "p", query | {"container": "app"}).status_code == 200
    assert agent.requests[-1][1] == query
