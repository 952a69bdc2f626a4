"""The pod log subresource proxies to the node agent (a fake agent on loopback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.support import free_port

from .api_harness import ADMIN_TOKEN, Api, pod


@pytest.fixture
def api() -> Api:
    return Api()

POD = "/api/v1/namespaces/default/pods"


class FakeAgent:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict, str | None]] = []

        @Request.application
        def app(req: Request) -> Response:
            self.requests.append((req.path, dict(req.args), req.headers.get("Authorization")))
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


def test_logs_are_proxied_with_the_admin_token(api, agent):
    add_node(api, agent.port)
    api.post(POD, pod("p", node="n1"))
    r = api.get(f"{POD}/p/log", query={"tailLines": "10", "follow": "false"})
    assert r.status_code == 200, r.get_data()
    assert r.get_data() == b"line 1\nline 2\n"
    path, args, auth = agent.requests[-1]
    assert path == "/containerLogs/default/p/app"
    assert args == {"tailLines": "10", "follow": "false"}
    assert auth == f"Bearer {ADMIN_TOKEN}"


def test_agent_errors_pass_through_as_status(api, agent):
    add_node(api, agent.port)
    body = pod("p", node="n1")
    body["spec"]["containers"].append({"name": "missing", "image": "x:1"})
    api.post(POD, body)
    r = api.get(f"{POD}/p/log", query={"container": "missing"})
    assert r.status_code == 404 and r.json["message"] == "no such container"


def test_container_must_be_named_when_there_are_several(api, agent):
    add_node(api, agent.port)
    body = pod("p", node="n1")
    body["spec"]["containers"].append({"name": "side", "image": "x:1"})
    api.post(POD, body)
    r = api.get(f"{POD}/p/log")
    assert r.status_code == 400 and "app side" in r.json["message"]
    assert api.get(f"{POD}/p/log", query={"container": "nope"}).status_code == 400


def test_unreachable_agent_is_503(api):
    add_node(api, free_port())
    api.post(POD, pod("p", node="n1"))
    r = api.get(f"{POD}/p/log")
    assert r.status_code == 503 and "n1" in r.json["message"]


def test_unscheduled_pod_has_no_logs(api):
    api.post(POD, pod("p"))
    assert api.get(f"{POD}/p/log").status_code == 400
