"""Request/response calls through the master's server in one hop (master.wsgicall)."""

from __future__ import annotations

import asyncio
import json

import pytest
import requests

from master import wsgicall
from tests.support import https_session

from .api_harness import ADMIN_TOKEN, Api

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_verbs_through_the_server():
    api = Api()
    s = https_session(api.ca_file)
    try:
        base = api.url + "/api/v1/namespaces/default/configmaps"
        r = s.post(base, json={"metadata": {"name": "c"}, "data": {"k": "v"}},
                   headers=AUTH, timeout=10)
        assert r.status_code == 201 and r.headers["Content-Type"] == "application/json"
        r = s.patch(base + "/c", data=json.dumps({"data": {"k": "w"}}), timeout=10,
                    headers={**AUTH, "Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200 and r.json()["data"] == {"k": "w"}
        assert s.get(base + "/c", headers=AUTH, timeout=10).json()["data"] == {"k": "w"}
        r = s.get(base + "/nope", headers=AUTH, timeout=10)
        assert r.status_code == 404 and r.json()["kind"] == "Status"
        assert s.get(base, timeout=10).status_code == 401
        assert s.delete(base + "/c", headers=AUTH, timeout=10).status_code == 200
    finally:
        s.close()
        api.close()


def test_an_oversized_body_is_413_through_the_server():
    api = Api(max_body_bytes=1024)
    try:
        body = {"metadata": {"name": "big"}, "data": {"k": "x" * 100_000}}
        r = requests.post(api.url + "/api/v1/namespaces/default/configmaps", json=body,
                          headers=AUTH, timeout=10, verify=api.ca_file)
        assert r.status_code == 413 and r.json()["kind"] == "Status"
    finally:
        api.close()


def test_read_body_joins_chunks_and_stops_past_the_limit():
    def receiver(chunks: list[bytes]):
        messages = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
                    for i, c in enumerate(chunks)]

        async def receive() -> dict:
            return messages.pop(0)
        return receive

    assert asyncio.run(wsgicall.read_body(receiver([b"ab", b"cd", b""]), 10)) == b"abcd"
    with pytest.raises(wsgicall.BodyTooLarge):
        asyncio.run(wsgicall.read_body(receiver([b"ab", b"cdef", b"ghij"]), 3))


def test_run_collects_the_whole_answer_and_closes_the_iterable():
    closed = []

    class Body(list):
        def close(self) -> None:
            closed.append(True)

    def app(environ, start_response):
        write = start_response("202 Accepted", [("Content-Type", "text/plain")])
        write(b"a")
        return Body([b"b", b"c"])

    assert wsgicall.run(app, {}) == (202, [(b"content-type", b"text/plain")], b"abc")
    assert closed == [True]
