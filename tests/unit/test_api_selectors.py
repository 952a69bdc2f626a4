"""labelSelector, fieldSelector and limit/continue on lists."""

from __future__ import annotations

import pytest

from .api_harness import Api, pod


@pytest.fixture
def api() -> Api:
    return Api()

POD = "/api/v1/namespaces/default/pods"


def names(r) -> list[str]:
    assert r.status_code == 200, r.json
    return sorted(i["metadata"]["name"] for i in r.json["items"])


def seed(api: Api) -> None:
    api.post(POD, pod("a", labels={"app": "web", "tier": "front"}, node="n1"))
    api.post(POD, pod("b", labels={"app": "web", "tier": "back"}, node="n2"))
    api.post(POD, pod("c", labels={"app": "db"}))


def test_label_selectors(api):
    seed(api)
    assert names(api.get(POD, query={"labelSelector": "app=web"})) == ["a", "b"]
    assert names(api.get(POD, query={"labelSelector": "app=web,tier!=front"})) == ["b"]
    assert names(api.get(POD, query={"labelSelector": "tier in (front,back)"})) == ["a", "b"]
    assert names(api.get(POD, query={"labelSelector": "!tier"})) == ["c"]


def test_field_selectors(api):
    seed(api)
    assert names(api.get("/api/v1/pods", query={"fieldSelector": "spec.nodeName=n1"})) == ["a"]
    assert names(api.get(POD, query={"fieldSelector": "spec.nodeName=="})) == ["c"]
    assert names(api.get(POD, query={"fieldSelector": "spec.nodeName!=n1"})) == ["b", "c"]
    assert names(api.get(POD, query={"fieldSelector": "metadata.name=b"})) == ["b"]
    assert names(api.get(POD, query={"fieldSelector": "status.phase=Pending,metadata.name!=a"})) \
        == ["b", "c"]
    assert names(api.get("/api/v1/pods", query={"fieldSelector": "metadata.namespace=default"})) \
        == ["a", "b", "c"]


def test_unsupported_field_is_400(api):
    r = api.get(POD, query={"fieldSelector": "spec.hostname=x"})
    assert r.status_code == 400 and "spec.hostname" in r.json["message"]


def test_limit_and_continue_page_through_everything_once(api):
    for i in range(7):
        api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": f"c{i}"}})
    seen, token, pages = [], None, 0
    while True:
        q = {"limit": "3", **({"continue": token} if token else {})}
        r = api.get("/api/v1/namespaces/default/configmaps", query=q)
        assert r.status_code == 200
        assert len(r.json["items"]) <= 3
        seen += [i["metadata"]["name"] for i in r.json["items"]]
        pages += 1
        token = r.json["metadata"].get("continue")
        if not token:
            break
    assert seen == [f"c{i}" for i in range(7)] and pages == 3


def test_limit_with_a_selector_fills_pages_with_matching_items(api):
    for i in range(6):
        api.post("/api/v1/namespaces/default/configmaps",
                 {"metadata": {"name": f"c{i}", "labels": {"even": str(i % 2 == 0).lower()}}})
    r = api.get("/api/v1/namespaces/default/configmaps",
                query={"limit": "2", "labelSelector": "even=true"})
    assert [i["metadata"]["name"] for i in r.json["items"]] == ["c0", "c2"]
    r = api.get("/api/v1/namespaces/default/configmaps",
                query={"limit": "2", "labelSelector": "even=true",
                       "continue": r.json["metadata"]["continue"]})
    assert [i["metadata"]["name"] for i in r.json["items"]] == ["c4"]


def test_a_continue_token_of_another_collection_is_refused(api):
    for i in range(3):
        api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": f"c{i}"}})
    token = api.get("/api/v1/namespaces/default/configmaps", query={"limit": "1"}).json[
        "metadata"]["continue"]
    r = api.get(POD, query={"continue": token})
    assert r.status_code == 400
