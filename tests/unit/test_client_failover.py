"""Which requests the client sends to the next master, against fake masters on loopback.

A write whose outcome is unknown (sent, then a read timeout, a reset or a
plain 503) must not be sent again: it may have committed."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coxapi import errors
from coxapi.client import Client
from raftstore import errors as store_errors
from tests.unit.api_harness import Api

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
PATH = "/api/v1/namespaces/default/configmaps"


class FakeMaster:
    """Answers every request as ``behaviour`` says and counts what it was sent:
    ``ok``; ``unknown`` and ``not-applied`` (503s); ``hang`` (no answer until
    the test ends); ``reset`` (reads the request, closes without answering);
    ``cut`` (dies halfway through its answer's body)."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.seen: list[str] = []
        self.release = threading.Event()
        master = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                master.seen.append(self.command)
                if master.behaviour == "hang":
                    master.release.wait(10)
                    self.close_connection = True
                    return
                if master.behaviour == "reset":
                    self.close_connection = True
                    return
                if master.behaviour == "ok":
                    self._reply(200, CM)
                    return
                if master.behaviour == "cut":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"kind": ')
                    self.close_connection = True
                    return
                if master.behaviour == "busy":
                    self._reply(429, errors.TooManyRequests.retry_after("busy", 1).to_status())
                    return
                err = errors.Unavailable("no quorum; the outcome of the write is unknown")
                if master.behaviour == "not-applied":
                    err = errors.not_applied("the store has no leader")
                self._reply(503, err.to_status())

            def _reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def masters() -> Iterator[Callable[[str], FakeMaster]]:
    made: list[FakeMaster] = []

    def make(behaviour: str) -> FakeMaster:
        made.append(FakeMaster(behaviour))
        return made[-1]
    yield make
    for m in made:
        m.close()


@pytest.fixture
def refused_url() -> Iterator[str]:
    """An address that refuses connections: bound, never listening."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def client(*urls: str) -> Client:
    return Client(list(urls), token="t", timeout=0.5)


WRITES = [
    ("POST", lambda c: c.create(CM)),
    ("PUT", lambda c: c.update(CM)),
    ("PATCH", lambda c: c.patch("ConfigMap", "c", {"data": {"a": "1"}})),
    ("DELETE", lambda c: c.delete("ConfigMap", "c")),
]


@pytest.mark.parametrize("failure", ["hang", "reset", "unknown", "cut"])
@pytest.mark.parametrize(("verb", "call"), WRITES, ids=[w[0] for w in WRITES])
def test_a_write_of_unknown_outcome_is_not_sent_again(masters, failure, verb, call):
    first, second = masters(failure), masters("ok")
    with pytest.raises(errors.OutcomeUnknown) as e:
        call(client(first.url, second.url))
    assert isinstance(e.value, errors.Unavailable)
    assert "may or may not have been applied" in str(e.value)
    assert first.seen == [verb] and second.seen == []


@pytest.mark.parametrize("failure", ["hang", "reset", "unknown", "not-applied", "cut"])
def test_a_read_goes_to_the_next_master_whatever_befell_it(masters, failure):
    first, second = masters(failure), masters("ok")
    assert client(first.url, second.url).get("ConfigMap", "c") == CM
    assert first.seen == ["GET"] and second.seen == ["GET"]


@pytest.mark.parametrize(("verb", "call"), WRITES, ids=[w[0] for w in WRITES])
def test_a_write_the_master_refused_unapplied_goes_to_the_next(masters, verb, call):
    first, second = masters("not-applied"), masters("ok")
    assert call(client(first.url, second.url)) == CM
    assert first.seen == [verb] and second.seen == [verb]


def test_a_refused_connection_fails_over_for_a_write(masters, refused_url):
    ok = masters("ok")
    c = client(refused_url, ok.url)
    assert c.create(CM) == CM
    assert ok.seen == ["POST"]
    assert c.create(CM) == CM  # and the client now sticks to the master that answered
    assert ok.seen == ["POST", "POST"]


def test_no_master_answering_is_still_cluster_unreachable(refused_url):
    with pytest.raises(errors.ClusterUnreachable):
        client(refused_url).create(CM)


def test_writes_refused_by_every_master_unapplied_raise_their_503(masters):
    first, second = masters("not-applied"), masters("not-applied")
    with pytest.raises(errors.Unavailable) as e:
        client(first.url, second.url).create(CM)
    assert not isinstance(e.value, errors.OutcomeUnknown) and errors.is_not_applied(e.value)


@pytest.mark.parametrize(("verb", "call"), WRITES, ids=[w[0] for w in WRITES])
def test_a_write_a_busy_master_refused_429_goes_to_the_next(masters, verb, call):
    first, second = masters("busy"), masters("ok")
    assert call(client(first.url, second.url)) == CM
    assert first.seen == [verb] and second.seen == [verb]


def test_every_master_busy_raises_their_429(masters):
    first, second = masters("busy"), masters("busy")
    with pytest.raises(errors.TooManyRequests) as e:
        client(first.url, second.url).create(CM)
    assert e.value.details == {"retryAfterSeconds": 1}


# ---- the master's side: which 503s say "not applied" ----

def test_the_master_marks_a_503_not_applied_only_when_nothing_was_written(monkeypatch):
    api = Api()
    api.post(PATH, {"metadata": {"name": "c"}})

    def read_fails(*a, **kw):  # the linearizable read a write starts with
        raise store_errors.Unavailable("no leader within 5s", outcome_unknown=False)

    def write_fails(*a, **kw):
        raise store_errors.Unavailable("no quorum within 5s; the outcome of the write is unknown")

    async def write_fails_on_the_loop(*a, **kw):  # the API's creates await put_async
        write_fails()

    monkeypatch.setattr(api.store, "put", write_fails)
    monkeypatch.setattr(api.store, "put_async", write_fails_on_the_loop)
    r = api.post(PATH, {"metadata": {"name": "d"}})
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert not errors.is_not_applied(errors.ApiError.from_status(r.json))
    monkeypatch.setattr(api.store, "get", read_fails)
    r = api.patch(f"{PATH}/c", {"data": {"a": "1"}})
    assert r.status_code == 503 and r.json["reason"] == "ServiceUnavailable"
    assert errors.is_not_applied(errors.ApiError.from_status(r.json))
    assert r.headers["Retry-After"] == "1"  # an election takes about a second


def test_the_environment_is_read_once_not_on_every_request(masters, monkeypatch):
    """requests reads the proxy variables and stats ~/.netrc on each request;
    the client takes proxies and the CA bundle once, and never ~/.netrc (its basic
    auth would replace the bearer token)."""
    m = masters("ok")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/bundle.pem")
    proxied = Client(["http://10.1.2.3:6443", m.url], token="t")
    assert proxied._environment == ({"http://10.1.2.3:6443": "http://proxy.invalid:3128"},
                                    "/etc/ssl/bundle.pem")

    def no_netrc(*_a, **_kw):
        raise AssertionError("~/.netrc consulted")
    monkeypatch.setattr("requests.sessions.get_netrc_auth", no_netrc)
    monkeypatch.setattr("requests.utils.get_netrc_auth", no_netrc)
    c = client(m.url)
    for _ in range(2):
        assert c.get("ConfigMap", "c")["metadata"]["name"] == "c"
    assert m.seen == ["GET", "GET"]
