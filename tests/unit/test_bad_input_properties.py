"""Bad input, property-based (issue 10, chaos item 10): almost-valid objects of
every kind, hostile query strings, paths and patches at every endpoint, and bad
manifests at ``cox apply``. Whatever comes in: never a 5xx, every 4xx is a
``Status`` with a message, and a request that fails stores nothing (the store's
revision is unchanged). Derandomized, so CI sees the same examples every run."""

from __future__ import annotations

import http.client
import json
import os
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coxapi import kinds
from raftstore.types import KeyValue
from tests.unit.api_harness import ADMIN_TOKEN, Api
from tests.unit.badinput import (
    BAD_MANIFEST_TEXT,
    CONTENT_TYPES,
    DELETE_OPTIONS,
    JSON_PATCH_OPS,
    JUNK,
    KIND,
    KIND_LIST,
    QUERIES,
    RAW_BODIES,
    REVIEW_KINDS,
    WATCH_QUERIES,
    Obj,
    base_body,
    collection,
    hostile_meta,
    hostile_paths,
    mutated,
    object_path,
    review_base,
    seed_base,
    seed_body,
    strategic_patch,
    token_request_base,
)
from tests.unit.cli_fakeapi import cox, write_kubeconfig

# CI runs the same examples every time. COX_FUZZ_EXAMPLES=N runs N random ones
# per property instead, for a deeper search by hand.
_DEEP = int(os.environ.get("COX_FUZZ_EXAMPLES", "0"))
FAST = settings(max_examples=_DEEP or 100, deadline=None, derandomize=not _DEEP, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])

# ---- the harness and the properties ----------------------------------------


class Fuzzed(Api):
    """The API with one object of every kind to update, patch and delete, and a
    snapshot of its store: ``restore`` puts the store back after a request that
    was valid by chance changed it, so every example meets the same objects."""

    def __init__(self) -> None:
        super().__init__()
        for kind in KIND_LIST:
            r = self.post(collection(kind), seed_body(kind))
            assert r.status_code == 201, r.get_data(as_text=True)
        # The seed quota's usage as its controller would count it: creates it limits pass.
        quota = self.get(object_path(kinds.lookup("ResourceQuota"))).json
        quota["status"] = {"hard": quota["spec"]["hard"], "used": {"count/secrets": "1"}}
        r = self.put(object_path(kinds.lookup("ResourceQuota")) + "/status", quota)
        assert r.status_code == 200, r.get_data(as_text=True)
        # The masters' signing key is stored on first use: a token made now, so a
        # TokenRequest among the examples stores nothing.
        r = self.post(object_path(kinds.lookup("ServiceAccount")) + "/token", {})
        assert r.status_code == 201, r.get_data(as_text=True)
        self.pristine = self._keys()
        self.clean_at = self.store.revision()

    def _keys(self) -> dict[str, KeyValue]:
        return {kv.key: kv for kv in self.store.range("/", linearizable=False).kvs}

    def restore(self) -> None:
        if self.store.revision() == self.clean_at:
            return
        now = self._keys()
        for key in now.keys() - self.pristine.keys():
            self.store.delete(key)
        for key, kv in self.pristine.items():
            if key not in now or now[key].mod_revision != kv.mod_revision:
                self.store.put(key, kv.value)
        self.pristine = self._keys()
        self.clean_at = self.store.revision()


@pytest.fixture(scope="module")
def api() -> Iterator[Fuzzed]:
    a = Fuzzed()
    yield a
    a.close()


def answer(api: Fuzzed, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
           content_type: str = "application/json", query: list | None = None) -> Any:
    """Send one request; check the properties every answer must have."""
    api.restore()
    before = api.store.revision()
    r = api.request(method, path, body, raw=raw, content_type=content_type, query=query)
    check_answer(r.status_code, r.get_data(), f"{method} {path} {query or ''}")
    if r.status_code >= 400:
        assert api.store.revision() == before, f"a failed {method} {path} changed the store"
    return r


def check_answer(code: int, data: bytes, what: str) -> None:
    assert code < 500, f"{what} -> {code}: {data[:500]!r}"
    if code >= 400:
        status = json.loads(data)
        assert status.get("kind") == "Status" and status.get("code") == code, (what, status)
        assert isinstance(status.get("message"), str) and status["message"], (what, status)


@FAST
@given(data=st.data())
def test_almost_valid_creates_and_updates_fail_cleanly(api: Fuzzed, data: st.DataObject) -> None:
    kind = data.draw(KIND, label="kind")
    base = data.draw(base_body(kind), label="base")
    body = data.draw(st.one_of(mutated(base), hostile_meta(base)),
                     label="body")
    answer(api, "POST", collection(kind), body, query=data.draw(QUERIES, label="query"))
    seed = data.draw(seed_base(kind), label="seed base")
    update = data.draw(st.one_of(mutated(seed), hostile_meta(seed)),
                       label="update")
    sub = data.draw(st.sampled_from([None, *kind.subresources]), label="subresource")
    path = object_path(kind) + (f"/{sub}" if sub else "")
    answer(api, "PUT", path, update, query=data.draw(QUERIES, label="update query"))


@FAST
@given(data=st.data())
def test_review_and_token_request_bodies_are_answered_cleanly(api: Fuzzed,
                                                              data: st.DataObject) -> None:
    """Bodies the server answers without storing them: the reviews (``kubectl
    auth can-i``/``whoami``) and a ServiceAccount's TokenRequest."""
    kind = data.draw(st.sampled_from([*REVIEW_KINDS, None]), label="review kind")
    if kind is None:
        base = data.draw(token_request_base(), label="token request")
        path = object_path(kinds.lookup("ServiceAccount")) + "/token"
    else:
        base = data.draw(review_base(kind), label="review")
        path = collection(kind)
    body = data.draw(st.one_of(mutated(base), hostile_meta(base), JUNK), label="body")
    api.restore()
    before = api.store.revision()
    r = answer(api, "POST", path, body, query=data.draw(QUERIES, label="query"))
    assert api.store.revision() == before, f"POST {path} stored something: {r.status_code}"
    if r.status_code < 300:
        assert r.json["kind"] == base["kind"] and "status" in r.json, r.json


@FAST
@given(data=st.data())
def test_patches_of_every_type_fail_cleanly(api: Fuzzed, data: st.DataObject) -> None:
    kind = data.draw(KIND, label="kind")
    sub = data.draw(st.sampled_from([None, *kind.subresources]), label="subresource")
    path = object_path(kind) + (f"/{sub}" if sub else "")
    patch_type = data.draw(st.sampled_from(["json", "merge", "strategic"]), label="type")
    if patch_type == "json":
        body: Any = data.draw(st.one_of(JSON_PATCH_OPS, JUNK), label="json patch")
        ctype = "application/json-patch+json"
    elif patch_type == "merge":
        body = data.draw(st.one_of(mutated(data.draw(seed_base(kind))), hostile_meta({}), JUNK),
                         label="merge patch")
        ctype = "application/merge-patch+json"
    else:
        body = data.draw(st.one_of(strategic_patch(kind), JUNK), label="strategic patch")
        ctype = "application/strategic-merge-patch+json"
    answer(api, "PATCH", path, body, content_type=ctype,
           query=data.draw(QUERIES, label="query"))


@FAST
@given(data=st.data())
def test_malformed_raw_bodies_at_every_verb(api: Fuzzed, data: st.DataObject) -> None:
    kind = data.draw(KIND, label="kind")
    method = data.draw(st.sampled_from(["POST", "PUT", "PATCH", "DELETE"]), label="method")
    path = collection(kind) if method == "POST" else object_path(kind)
    answer(api, method, path, raw=data.draw(RAW_BODIES, label="raw"),
           content_type=data.draw(CONTENT_TYPES, label="content type"))


@FAST
@given(data=st.data())
def test_garbage_query_strings_and_delete_options(api: Fuzzed, data: st.DataObject) -> None:
    kind = data.draw(KIND, label="kind")
    query = data.draw(QUERIES, label="query")
    verb = data.draw(st.sampled_from(["list", "get", "delete", "deletecollection"]), label="verb")
    if verb == "list":
        answer(api, "GET", collection(kind), query=query)
    elif verb == "get":
        answer(api, "GET", object_path(kind), query=query)
    else:
        path = collection(kind) if verb == "deletecollection" else object_path(kind)
        answer(api, "DELETE", path, data.draw(st.one_of(st.none(), DELETE_OPTIONS),
                                              label="options"), query=query)


class _Raw:
    """Requests with a raw target (no client-side path normalisation) to the
    master's real HTTPS server, the way a hostile client sends them."""

    def __init__(self, api: Fuzzed) -> None:
        host, port = api.url.removeprefix("https://").split(":")
        self.host, self.port = host, int(port)
        self.context = ssl.create_default_context(cafile=api.ca_file)

    def send(self, method: str, target: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, bytes]:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=20)
        try:
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            if body is not None:
                headers["Content-Type"] = content_type
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            # A watch that was valid by chance streams: its status is enough.
            data = resp.read() if resp.status != 200 else b""
            return resp.status, data
        finally:
            conn.close()


@pytest.fixture(scope="module")
def raw(api: Fuzzed) -> _Raw:
    return _Raw(api)


@FAST
@given(data=st.data())
def test_hostile_paths_through_the_real_server(api: Fuzzed, raw: _Raw, data: st.DataObject) -> None:
    target = data.draw(hostile_paths(), label="path")
    method = data.draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]), label="method")
    body = None if method == "GET" else json.dumps(data.draw(JUNK, label="body")).encode()
    api.restore()
    before = api.store.revision()
    code, payload = raw.send(method, target, body, "application/merge-patch+json"
                             if method == "PATCH" else "application/json")
    check_answer(code, payload, f"{method} {target}")
    if code >= 400:
        assert api.store.revision() == before, f"a failed {method} {target} changed the store"


@FAST
@given(data=st.data())
def test_garbage_watch_requests_through_the_real_server(api: Fuzzed, raw: _Raw,
                                                        data: st.DataObject) -> None:
    from urllib.parse import urlencode

    kind = data.draw(KIND, label="kind")
    query = [("watch", data.draw(st.sampled_from(["true", "1", "yes", "", "TRUE"]))),
             ("timeoutSeconds", data.draw(st.sampled_from(["1", "0", "-1", "x", "1e3", ""]))),
             *data.draw(WATCH_QUERIES, label="query")]
    path = data.draw(st.sampled_from([collection(kind), object_path(kind), kind.path()]))
    code, payload = raw.send("GET", f"{path}?{urlencode(query)}")
    check_answer(code, payload, f"watch {path}?{urlencode(query)}")


# ---- cox apply -------------------------------------------------------------


@pytest.fixture(scope="module")
def kubeconfig(api: Fuzzed, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_kubeconfig(tmp_path_factory.mktemp("kc") / "kc", [api.url], token=ADMIN_TOKEN,
                            ca_file=api.ca_file)


def _manifest(data: st.DataObject) -> str:
    if data.draw(st.booleans(), label="structured"):
        kind = data.draw(KIND, label="kind")
        base = data.draw(base_body(kind), label="base")
        doc = data.draw(st.one_of(mutated(base), hostile_meta(base)),
                        label="manifest")
        return json.dumps(doc) if data.draw(st.booleans(), label="as json") else _yaml(doc)
    return data.draw(BAD_MANIFEST_TEXT, label="text")


def _yaml(doc: Any) -> str:
    import yaml

    return yaml.safe_dump(doc, allow_unicode=True)


@settings(FAST, max_examples=_DEEP or 60)
@given(data=st.data())
def test_cox_apply_of_bad_manifests_fails_in_one_line(api: Fuzzed, kubeconfig: str,
                                                      data: st.DataObject) -> None:
    text = _manifest(data)
    flags = data.draw(st.sampled_from([[], ["--no-validate"], ["--dry-run"]]),
                      label="flags")
    api.restore()
    before = api.store.revision()
    r = cox(kubeconfig, "apply", *flags, "-f", "-", input=text)  # asserts nothing escaped
    if r.exit_code == 0:
        return  # valid by chance
    # One line per failed document (and a count of them), nothing else.
    lines = r.stderr.splitlines()
    assert lines and len(lines) <= text.count("---") + 2, r.stderr
    assert all(line.strip() and not line[0].isspace() for line in lines), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr, r.stderr
    if r.stdout == "":  # nothing reported as applied: nothing stored either
        assert api.store.revision() == before, (text, r.stderr)


def test_cox_apply_of_a_manifest_file_that_is_not_text(kubeconfig: str, tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00kind: Pod\n\x80")
    r = cox(kubeconfig, "apply", "-f", str(path))
    assert r.exit_code != 0
    assert r.stderr.count("\n") == 1 and "internal error" not in r.stderr, r.stderr


# ---- regressions the properties found ----------------------------------------


@pytest.mark.parametrize("rv", [":", "²", "1.5", "-3"])
@pytest.mark.parametrize("how", ["merge patch", "put", "status put"])
def test_a_resource_version_that_is_no_number_is_a_400(api: Fuzzed, rv: str, how: str) -> None:
    api.restore()
    kind = kinds.lookup("ConfigMap")
    before = api.store.revision()
    if how == "merge patch":
        r = api.patch(object_path(kind), {"metadata": {"resourceVersion": rv}})
    else:
        body = seed_body(kinds.lookup("Namespace" if how == "status put" else "ConfigMap"))
        body["metadata"]["resourceVersion"] = rv
        path = object_path(kinds.lookup("Namespace")) + "/status" if how == "status put" \
            else object_path(kind)
        r = api.put(path, body)
    assert r.status_code == 400, r.json
    assert r.json["message"].startswith("metadata.resourceVersion: invalid value")
    assert api.store.revision() == before


def test_a_watch_from_a_resource_version_in_unicode_digits_is_a_400(raw: _Raw) -> None:
    code, payload = raw.send("GET", "/api/v1/namespaces/default/pods?watch=1&resourceVersion=%C2%B2")
    assert code == 400, payload
    assert json.loads(payload)["message"].startswith("resourceVersion: invalid value '²'")


@pytest.mark.parametrize(("field", "shown"), [("a\nb", "a\\nb"), ("\r", "\\r"), ("ä", "\\xe4"),
                                             ("🚀", "\\U0001f680"), ("\x00", "\\x00")])
def test_an_unknown_field_named_with_any_character_is_warned_about(
        api: Fuzzed, raw: _Raw, field: str, shown: str) -> None:
    api.restore()
    path = object_path(kinds.lookup("ConfigMap"))
    r = api.patch(path, {field: 1})
    assert r.status_code == 200, r.json
    [warning] = r.headers.getlist("Warning")
    assert warning == f'299 - "unknown field \\"{shown}\\""'
    api.restore()
    code, payload = raw.send("PATCH", path, json.dumps({field: 1}).encode(),
                             "application/merge-patch+json")
    assert code == 200, payload


@pytest.mark.parametrize("flags", [[], ["--no-validate"]])
def test_cox_apply_escapes_control_characters_in_its_error_line(
        api: Fuzzed, kubeconfig: str, flags: list[str]) -> None:
    api.restore()
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cm", "labels": {"a\rb\x1b[31m": "x"}}}
    r = cox(kubeconfig, "apply", *flags, "-f", "-", input=json.dumps(manifest))
    assert r.exit_code != 0
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    assert "\\x1b[31m]: invalid label key" in r.stderr.splitlines()[0]


@pytest.mark.parametrize("port", [{"port": []}, {"port": 80, "protocol": ["TCP"]},
                                  {"port": {"a": 1}, "protocol": {}}])
def test_a_service_port_of_any_json_type_is_invalid_not_a_crash(port: Obj) -> None:
    from coxapi.validation import errors_of

    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "d"},
           "spec": {"ports": [port, port]}}
    fields = {field for field, _ in errors_of(svc)}
    assert "spec.ports[0].port" in fields or "spec.ports[0].protocol" in fields
    assert "spec.ports[1]" in fields  # the same twice is still a duplicate


def _pod_with(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i"}], **spec}}


def _container(**fields: Any) -> Obj:
    return _pod_with(containers=[{"name": "c", "image": "i", **fields}])


@pytest.mark.parametrize(("body", "field"), [
    (_pod_with(volumes=[{"name": "v", "emptyDir": []}]), "spec.volumes[0].emptyDir"),
    (_container(ports=[{"containerPort": 80, "name": ["x"]}]), "spec.containers[0].ports[0].name"),
    (_container(ports=[{"containerPort": 80, "hostPort": 80, "protocol": ["TCP"]}]),
     "spec.containers[0].ports[0].protocol"),
    (_container(resources=[{"limits": {"cpu": "1"}}]), "spec.containers[0].resources"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": [1]}, "spec"),
    ({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "e"},
      "subsets": [{"addresses": 1e308, "ports": 3}]}, "subsets[0].addresses"),
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
      "spec": {"ports": [{"port": 80, "name": ["a"]}, {"port": 81, "name": "b"}]}},
     "spec.ports[0].name"),
    (_container(volumeMounts=[{"name": ["v"], "mountPath": "/v"}]),
     "spec.containers[0].volumeMounts[0].name"),
])
def test_a_field_of_the_wrong_json_type_is_invalid_not_a_crash(api: Fuzzed, body: Obj,
                                                               field: str) -> None:
    api.restore()
    before = api.store.revision()
    kind = kinds.lookup(body["kind"])
    r = api.post(collection(kind), body)
    assert r.status_code == 422, r.json
    assert field in {c.get("field") for c in r.json["details"]["causes"]}, r.json
    assert api.store.revision() == before


@pytest.mark.parametrize("ports", [[{"port": {"a": 1}, "protocol": "UDP"}], 7, {"port": 80}])
def test_a_node_port_service_updated_with_ports_of_any_json_type_is_invalid(
        api: Fuzzed, ports: Any) -> None:
    api.restore()
    svc = api.get(object_path(kinds.lookup("Service"))).json
    svc["spec"].update(type="NodePort", ports=ports)
    before = api.store.revision()
    r = api.put(object_path(kinds.lookup("Service")), svc)
    assert r.status_code == 422, r.json
    assert api.store.revision() == before


def test_the_server_still_answers_after_all_of_it(raw: _Raw) -> None:
    code, payload = raw.send("GET", "/api/v1/namespaces/default/configmaps/fuzz-seed")
    assert code == 200, payload
