"""The RBAC authorizer keeps each user's rules between requests (issue 8)
and drops them the moment a Role, ClusterRole, RoleBinding or
ClusterRoleBinding changes: a revoked binding denies the very next request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from master.admission.rbacdefaults import ensure_default_rbac
from master.api.rbaccache import ChangeCounter, RulesCache
from master.auth import TokenEntry, User
from raftstore.memory import MemoryStore

from .api_harness import Api
from .test_api_rbac import ALICE, PODS, RBAC, bind

ALICE_USER = {"kind": "User", "name": "alice"}


@pytest.fixture
def api() -> Iterator[Api]:
    a = Api(tokens=(TokenEntry(ALICE, User("alice", "u-alice")),))
    ensure_default_rbac(a.objects)
    yield a
    a.close()


def test_a_deleted_rolebinding_revokes_on_the_next_request(api):
    assert bind(api, "alice-view", "view", ALICE_USER) == 201
    for _ in range(3):  # held in the cache now
        assert api.get(PODS, token=ALICE).status_code == 200
    assert api.delete(f"{RBAC}/namespaces/default/rolebindings/alice-view").status_code == 200
    assert api.get(PODS, token=ALICE).status_code == 403


def test_a_deleted_clusterrolebinding_revokes_on_the_next_request(api):
    assert bind(api, "alice-view", "view", ALICE_USER, ns=None) == 201
    assert api.get(PODS, token=ALICE).status_code == 200
    assert api.delete(f"{RBAC}/clusterrolebindings/alice-view").status_code == 200
    assert api.get(PODS, token=ALICE).status_code == 403


def test_a_new_binding_grants_on_the_next_request(api):
    assert api.get(PODS, token=ALICE).status_code == 403  # "no rules" is cached too
    assert bind(api, "alice-view", "view", ALICE_USER) == 201
    assert api.get(PODS, token=ALICE).status_code == 200


def test_a_role_whose_rules_shrink_revokes_on_the_next_request(api):
    role = {"metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]}
    assert api.post(f"{RBAC}/namespaces/default/roles", role).status_code == 201
    assert bind(api, "alice-reads", "pod-reader", ALICE_USER, role_kind="Role") == 201
    assert api.get(PODS, token=ALICE).status_code == 200
    role["rules"][0]["verbs"] = ["get"]
    assert api.put(f"{RBAC}/namespaces/default/roles/pod-reader", role).status_code == 200
    assert api.get(PODS, token=ALICE).status_code == 403


def test_rules_computed_while_rbac_changed_are_not_kept() -> None:
    store = MemoryStore()
    cache = RulesCache(ChangeCounter(store, ["/registry/rolebindings/"]))
    key = ("alice", (), "default")

    def compute_while_a_binding_changes() -> tuple:
        store.put("/registry/rolebindings/default/b", {})
        return ("stale",)

    assert cache.rules(key, compute_while_a_binding_changes) == ("stale",)
    assert cache.rules(key, lambda: ("fresh",)) == ("fresh",)
    assert cache.rules(key, lambda: ("not called",)) == ("fresh",)
    store.put("/registry/configmaps/default/c", {})  # not RBAC: kept
    assert cache.rules(key, lambda: ("not called",)) == ("fresh",)


def test_a_watch_that_closed_counts_as_a_change_and_is_replaced() -> None:
    store = MemoryStore()
    counter = ChangeCounter(store, ["/registry/roles/"])
    first = counter.current()
    store._hub.close_all()
    second = counter.current()
    assert second is not None and second > first
    assert counter.current() == second  # replaced: quiet again
    store.put("/registry/roles/default/r", {})
    assert counter.current() == second + 1
