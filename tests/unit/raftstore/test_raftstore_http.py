"""The standalone server's JSON API over a MemoryStore, called as WSGI (no sockets)."""

import io
import json

import pytest

from raftstore import MemoryStore
from raftstore.server import create_app


@pytest.fixture
def call():
    store = MemoryStore()
    app = create_app(store)

    def do(method: str, path: str, body=None, raw: bytes | None = None):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        path, _, query = path.partition("?")
        env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
               "CONTENT_LENGTH": str(len(data)), "wsgi.input": io.BytesIO(data)}
        got = {}
        out = app(env, lambda status, headers: got.update(status=int(status.split()[0])))
        if path == "/v1/watch" and got["status"] == 200:
            return got["status"], out
        return got["status"], json.loads(b"".join(out))
    yield do
    store.close()


def test_put_get_range_txn(call):
    assert call("POST", "/v1/put", {"key": "/a", "value": {"x": 1}})[1]["kv"]["version"] == 1
    assert call("POST", "/v1/get", {"key": "/a"})[1]["kv"]["value"] == {"x": 1}
    status, body = call("POST", "/v1/txn", {
        "compares": [{"key": "/a", "target": "version", "op": "==", "value": 1}],
        "success": [{"op": "put", "key": "/b", "value": {}}, {"op": "get", "key": "/a"}]})
    assert status == 200 and body["succeeded"] and body["results"][1]["key"] == "/a"
    assert [kv["key"] for kv in call("POST", "/v1/range", {"prefix": "/"})[1]["kvs"]] == ["/a", "/b"]


@pytest.mark.parametrize("path,body,status,error", [
    ("/v1/put", {"key": "/a", "value": {}, "expect_mod_revision": 5}, 409, "CompareFailed"),
    ("/v1/delete", {"key": "/nope"}, 404, "KeyNotFound"),
    ("/v1/lease/keepalive", {"id": 42}, 404, "LeaseNotFound"),
    ("/v1/put", {"value": {}}, 400, "InvalidArgument"),
    ("/v1/put", {"key": "/a", "value": "text"}, 400, "InvalidArgument"),
    ("/v1/txn", {"success": [{"op": "explode", "key": "/a"}]}, 400, "InvalidArgument"),
    ("/v1/compact", {"revision": 99}, 400, "InvalidArgument"),
])
def test_errors_are_json_with_a_status_and_a_message(call, path, body, status, error):
    got_status, got = call("POST", path, body)
    assert (got_status, got["error"]) == (status, error) and got["message"]


def test_bad_json_wrong_method_and_unknown_route(call):
    status, body = call("POST", "/v1/put", raw=b"{not json")
    assert status == 400 and "not valid JSON" in body["message"]
    assert call("GET", "/v1/put")[0] == 405
    assert call("GET", "/v1/nothing")[0] == 404


def test_watch_from_compacted_revision_is_410(call):
    for i in range(3):
        call("POST", "/v1/put", {"key": "/w", "value": {"i": i}})
    call("POST", "/v1/compact", {"revision": 2})
    status, body = call("GET", "/v1/watch?prefix=/w&start_revision=1")
    assert status == 410 and body["compact_revision"] == 2
    status, stream = call("GET", "/v1/watch?prefix=/w&start_revision=3")
    assert status == 200 and json.loads(next(iter(stream)))["revision"] == 3
    stream.close()
