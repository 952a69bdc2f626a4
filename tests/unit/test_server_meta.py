"""Server-owned metadata: one list (coxapi.meta.SERVER_META) for the API's
strategy, the in-process ObjectStore and ``cox apply``."""

from __future__ import annotations

import pytest

from cli.commands import merge
from coxapi.meta import SERVER_META, is_version

from .api_harness import Api

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"
FORGED = {"uid": "forged", "creationTimestamp": "2000-01-01T00:00:00Z", "generation": 99,
          "deletionTimestamp": "2000-01-01T00:00:00Z", "deletionGracePeriodSeconds": 7,
          "managedFields": [{"manager": "someone"}], "selfLink": "/forged"}


@pytest.fixture
def api() -> Api:
    return Api()


@pytest.mark.parametrize("value, ok", [("0", True), ("123", True), ("", False), ("12a", False),
                                       ("²", False), ("١٢", False), ("-1", False), (" 1", False),
                                       (12, False), (None, False)])
def test_a_resource_version_is_a_string_of_ascii_digits(value, ok):
    assert is_version(value) is ok
    if ok:
        int(value)


def test_the_forged_fields_are_exactly_the_server_owned_ones():
    assert set(FORGED) == set(SERVER_META)


def test_a_create_through_the_api_ignores_every_server_owned_field(api):
    r = api.post(CONFIGMAPS, {"metadata": {"name": "c", **FORGED, "resourceVersion": "42"},
                              "data": {"k": "v"}})
    assert r.status_code == 201, r.json
    meta = r.json["metadata"]
    assert meta["uid"] != "forged" and meta["generation"] == 1
    assert meta["creationTimestamp"] != FORGED["creationTimestamp"]
    assert not {"deletionTimestamp", "deletionGracePeriodSeconds", "managedFields",
                "selfLink"} & set(meta)


def test_an_update_through_the_api_keeps_the_stored_values(api):
    created = api.post(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"k": "v"}}).json
    others = {k: v for k, v in FORGED.items() if k != "uid"}  # a uid is a precondition
    forged = {**created, "metadata": {**created["metadata"], **others, "labels": {"a": "b"}}}
    r = api.put(f"{CONFIGMAPS}/c", forged)
    assert r.status_code == 200, r.json
    for field in SERVER_META:
        assert r.json["metadata"].get(field) == created["metadata"].get(field), field


def test_the_object_store_drops_them_on_create(api):
    obj = api.objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "c", "namespace": "default", **FORGED,
                                           "resourceVersion": "42"}})
    meta = obj["metadata"]
    assert meta["uid"] != "forged" and meta["generation"] == 1
    assert not {"deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"} & set(meta)
    # its writers are the API server and the controllers: managedFields are
    # the server-side apply's (a client's were dropped by the API's strategy)
    assert meta["managedFields"] == FORGED["managedFields"]


def test_cox_apply_manages_none_of_them():
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"},
                "metadata": {"name": "c", **FORGED, "resourceVersion": "42"}}
    assert merge.applied_form(manifest)["metadata"] == {"name": "c"}
