"""dryRun=All: the whole write path runs, nothing is written."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .api_harness import Api, deployment, pod

POD = "/api/v1/namespaces/default/pods"
CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
EVENTS = "/api/v1/namespaces/default/events"
DRY = {"dryRun": "All"}


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api()
    yield a
    a.close()


class Unchanged:
    """Asserts the store's revision did not move inside the block."""

    def __init__(self, api: Api) -> None:
        self.store = api.store

    def __enter__(self) -> None:
        self.before = self.store.revision()

    def __exit__(self, *exc: object) -> None:
        assert self.store.revision() == self.before


def test_dry_run_create_returns_the_defaulted_object_and_stores_nothing(api):
    with Unchanged(api):
        r = api.post(POD, pod("web"), query=DRY)
    assert r.status_code == 201, r.json
    p = r.json
    assert p["metadata"]["uid"] and p["metadata"]["creationTimestamp"]
    assert "resourceVersion" not in p["metadata"]
    assert p["status"]["phase"] == "Pending"  # admission ran
    assert p["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # defaulting ran
    assert api.get(f"{POD}/web").status_code == 404


def test_dry_run_create_still_validates_and_checks_the_name(api):
    api.post(CM, {"metadata": {"name": "c"}})
    with Unchanged(api):
        bad = api.post(POD, pod("web", restartPolicy="Sometimes"), query=DRY)
        taken = api.post(CM, {"metadata": {"name": "c"}}, query=DRY)
        generated = api.post(CM, {"metadata": {"generateName": "c-"}}, query=DRY)
        event = api.post(EVENTS, {"metadata": {"name": "e"}, "involvedObject": {
            "kind": "Pod", "name": "web", "namespace": "default"}, "reason": "R",
            "message": "m", "type": "Normal"}, query=DRY)
    assert bad.status_code == 422 and bad.json["details"]["causes"][0]["field"] == \
        "spec.restartPolicy"
    assert taken.status_code == 409
    assert generated.status_code == 201 and generated.json["metadata"]["name"].startswith("c-")
    assert event.status_code == 201, event.json


@pytest.mark.parametrize("value", ["all", "", "None"])
def test_an_unknown_dry_run_value_is_400(api, value):
    with Unchanged(api):
        r = api.post(CM, {"metadata": {"name": "c"}}, query={"dryRun": value})
    assert r.status_code == 400 and "dryRun" in r.json["message"]


def test_dry_run_update_and_patch(api):
    api.post(DEPLOY, deployment("web"))
    stored = api.get(f"{DEPLOY}/web").json
    changed = {**stored, "spec": {**stored["spec"], "replicas": 7}}
    with Unchanged(api):
        put = api.put(f"{DEPLOY}/web", changed, query=DRY)
        stale = api.put(f"{DEPLOY}/web", {**changed, "metadata": {
            **stored["metadata"], "resourceVersion": "1"}}, query=DRY)
        patch = api.patch(f"{DEPLOY}/web", {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "web:2"}]}}}},
            content_type="application/strategic-merge-patch+json", query=DRY)
        invalid = api.patch(f"{DEPLOY}/web", {"spec": {"replicas": -1}}, query=DRY)
    assert put.status_code == 200 and put.json["spec"]["replicas"] == 7
    assert put.json["metadata"]["generation"] == 2
    assert put.json["metadata"]["resourceVersion"] == stored["metadata"]["resourceVersion"]
    assert stale.status_code == 409
    assert patch.status_code == 200
    assert patch.json["spec"]["template"]["spec"]["containers"][0]["image"] == "web:2"
    assert invalid.status_code == 422
    assert api.get(f"{DEPLOY}/web").json == stored


def test_dry_run_status_and_scale_subresources(api):
    api.post(DEPLOY, deployment("web"))
    stored = api.get(f"{DEPLOY}/web").json
    with Unchanged(api):
        status = api.put(f"{DEPLOY}/web/status", {**stored, "status": {"replicas": 3}},
                         query=DRY)
        scale_put = api.put(f"{DEPLOY}/web/scale", {"kind": "Scale", "spec": {"replicas": 4}},
                            query=DRY)
        scale_patch = api.patch(f"{DEPLOY}/web/scale", {"spec": {"replicas": 5}}, query=DRY)
    assert status.status_code == 200 and status.json["status"] == {"replicas": 3}
    assert scale_put.json["spec"]["replicas"] == 4
    assert scale_patch.json["spec"]["replicas"] == 5
    assert api.get(f"{DEPLOY}/web").json == stored


def test_dry_run_delete(api):
    api.post(CM, {"metadata": {"name": "c"}})
    api.post(POD, pod("bound", node="n1"))
    with Unchanged(api):
        cm = api.delete(f"{CM}/c", query=DRY)
        graceful = api.delete(f"{POD}/bound", query=DRY)
        collection = api.delete(CM, query=DRY)
        missing = api.delete(f"{CM}/nope", query=DRY)
    assert cm.status_code == 200 and cm.json["kind"] == "Status"  # as a real delete answers
    assert cm.json["details"]["name"] == "c"
    assert graceful.status_code == 200 and graceful.json["metadata"]["deletionTimestamp"]
    assert [i["metadata"]["name"] for i in collection.json["items"]] == ["c"]
    assert missing.status_code == 404
    assert api.get(f"{CM}/c").status_code == 200
    assert "deletionTimestamp" not in api.get(f"{POD}/bound").json["metadata"]


def test_dry_run_in_the_delete_options_body(api):
    # client-go (kubectl delete --dry-run=server) sends it in the body, not the query.
    api.post(CM, {"metadata": {"name": "c"}})
    with Unchanged(api):
        r = api.delete(f"{CM}/c", {"kind": "DeleteOptions", "apiVersion": "v1",
                                   "dryRun": ["All"], "propagationPolicy": "Background"})
        bad = api.delete(f"{CM}/c", {"kind": "DeleteOptions", "dryRun": ["Some"]})
        collection = api.delete(CM, {"kind": "DeleteOptions", "dryRun": ["All"]})
    assert r.status_code == 200 and bad.status_code == 400
    assert [i["metadata"]["name"] for i in collection.json["items"]] == ["c"]
    assert api.get(f"{CM}/c").status_code == 200
