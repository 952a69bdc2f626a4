"""Deployment controller (with the ReplicaSet controller) over MemoryStore.
A tiny fake kubelet makes pods ready and finishes graceful deletions."""

from __future__ import annotations

import pytest

from coxapi.timefmt import rfc3339
from master.controllers import rollout
from master.controllers.deployment import DeploymentController
from master.controllers.replicaset import ReplicaSetController
from master.controllers.rollout import RS
from master.controllers.testing import make_context

LABELS = {"app": "web"}


def deployment(replicas=4, image="demo:1", surge=1, unavailable=0, strategy="RollingUpdate",
               history=10, deadline=600):
    strat = {"type": strategy}
    if strategy == "RollingUpdate":
        strat["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": LABELS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS},
                     "strategy": strat, "revisionHistoryLimit": history,
                     "progressDeadlineSeconds": deadline, "minReadySeconds": 0,
                     "template": {"metadata": {"labels": LABELS},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}}}


class Cluster:
    def __init__(self, *objs):
        self.ctx, self.clock = make_context()
        for o in objs:
            self.ctx.objects.create(o)
        self.dc = DeploymentController(self.ctx)
        self.rsc = ReplicaSetController(self.ctx)

    def settle(self, rounds=20):
        for _ in range(rounds):
            self.ctx.informers.relist()
            if not (self.dc.drain() + self.rsc.drain()):
                return
        raise AssertionError("controllers did not settle")

    def kubelet(self, ready=True):
        """Finish graceful deletions; make the other pods Running (and Ready)."""
        for p in self.pods(include_terminating=True):
            name = p["metadata"]["name"]
            if p["metadata"].get("deletionTimestamp"):
                self.ctx.objects.delete("Pod", "default", name)
            elif ready and p["status"].get("phase") != "Running":
                self.ctx.objects.guaranteed_update("Pod", "default", name, lambda o: {
                    **o, "spec": {**o["spec"], "nodeName": "n1"},
                    "status": {"phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True",
                         "lastTransitionTime": rfc3339(self.clock())}]}})

    def pods(self, include_terminating=False):
        return [p for p in self.ctx.objects.list("Pod", "default")[0]
                if include_terminating or not p["metadata"].get("deletionTimestamp")]

    def sets(self):
        return sorted(self.ctx.objects.list("ReplicaSet", "default")[0],
                      key=rollout.revision_of)

    def deploy(self):
        return self.ctx.objects.get("Deployment", "default", "web")

    def update(self, **spec):
        self.ctx.objects.guaranteed_update("Deployment", "default", "web",
                                           lambda o: {**o, "spec": {**o["spec"], **spec}})

    def set_image(self, image):
        def change(o):
            o["spec"]["template"]["spec"]["containers"][0]["image"] = image
            return o
        self.ctx.objects.guaranteed_update("Deployment", "default", "web", change)

    def roll(self, check=None, max_steps=40):
        """Alternate controllers and kubelet until the rollout completes."""
        for _ in range(max_steps):
            self.settle()
            if check:
                check(self)
            st = self.deploy()["status"]
            if (st.get("updatedReplicas") == st.get("availableReplicas")
                    == self.deploy()["spec"]["replicas"] == st.get("replicas")):
                return
            self.kubelet()
        raise AssertionError(f"rollout did not finish: {self.deploy()['status']}")


def cond(obj, ctype):
    return next((c for c in obj["status"].get("conditions", []) if c["type"] == ctype), None)


def test_creates_a_replicaset_named_by_template_hash_with_revision_1():
    c = Cluster(deployment())
    c.roll()
    [rs] = c.sets()
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["spec"]["selector"]["matchLabels"] == {**LABELS, "pod-template-hash": h}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert rs["metadata"]["annotations"][rollout.REVISION] == "1"
    d = c.deploy()
    assert d["metadata"]["annotations"][rollout.REVISION] == "1"
    st = d["status"]
    assert (st["replicas"], st["updatedReplicas"], st["readyReplicas"], st["availableReplicas"],
            st["unavailableReplicas"], st["observedGeneration"]) == (4, 4, 4, 4, 0, 1)
    assert cond(d, "Available")["status"] == "True"
    assert cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_template_hash_is_stable_and_ignores_the_hash_label():
    t = deployment()["spec"]["template"]
    assert rollout.template_hash(t) == rollout.template_hash(t)
    labelled = {**t, "metadata": {"labels": {**LABELS, "pod-template-hash": "x"}}}
    assert rollout.template_hash(labelled) == rollout.template_hash(t)
    assert rollout.template_hash(deployment(image="demo:2")["spec"]["template"]) != \
        rollout.template_hash(t)
    # a null field is an absent one, as in Kubernetes' typed templates
    nulled = {**t, "metadata": {**t["metadata"], "creationTimestamp": None}}
    assert rollout.template_hash(nulled) == rollout.template_hash(t)


@pytest.mark.parametrize("surge,unavailable,replicas,want", [
    ("25%", "25%", 4, (1, 1)),
    ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable down
    (0, 0, 3, (0, 1)),  # both zero would never progress
    (2, "50%", 5, (2, 2)),
])
def test_fenceposts_round_like_kubernetes(surge, unavailable, replicas, want):
    assert rollout.fenceposts(surge, unavailable, replicas) == want


def test_old_scale_down_keeps_minimum_available():
    new, old = RS("new", 2, available=1), [RS("old", 4, available=4)]
    # 6 pods, 4 must stay available, 1 new one unavailable: one old may go
    assert rollout.old_scale_down(4, 0, new, old) == {"old": 3}
    # unhealthy old replicas go first, without touching availability
    # (no availability to spare: 2 old + 1 new available < 4)
    assert rollout.old_scale_down(4, 0, RS("new", 1, 1), [RS("old", 4, available=2)]) == \
        {"old": 3}


def rolling_invariants(replicas, surge, unavailable):
    def check(c):
        pods = c.pods()
        ready = [p for p in pods if p["status"].get("conditions")]
        assert len(pods) <= replicas + surge, f"surge exceeded: {len(pods)} pods"
        assert len(ready) >= replicas - unavailable, f"too few available: {len(ready)}"
    return check


@pytest.mark.parametrize("surge,unavailable", [(1, 0), (0, 1), (2, 1), ("25%", "25%")])
def test_rolling_update_respects_surge_and_unavailable(surge, unavailable):
    c = Cluster(deployment(replicas=4, surge=surge, unavailable=unavailable))
    c.roll()
    c.set_image("demo:2")
    s, u = rollout.fenceposts(surge, unavailable, 4)
    c.roll(check=rolling_invariants(4, s, u))
    old, new = c.sets()
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 4
    assert {p["spec"]["containers"][0]["image"] for p in c.pods()} == {"demo:2"}
    assert c.deploy()["metadata"]["annotations"][rollout.REVISION] == "2"
    assert rollout.revision_of(new) == 2


def test_first_step_of_a_rollout_surges_by_exactly_max_surge():
    c = Cluster(deployment(replicas=4, surge=1, unavailable=0))
    c.roll()
    c.set_image("demo:2")
    c.settle()
    old, new = c.sets()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (4, 1)
    c.settle()  # nothing becomes ready: no further progress
    old, new = c.sets()
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (4, 1)
    assert cond(c.deploy(), "Progressing")["reason"] == "ReplicaSetUpdated"


def test_recreate_removes_all_old_pods_before_creating_new_ones():
    c = Cluster(deployment(replicas=3, strategy="Recreate"))
    c.roll()
    c.set_image("demo:2")

    def never_mixed(cl):
        images = {p["spec"]["containers"][0]["image"] for p in cl.pods(include_terminating=True)}
        assert len(images) <= 1, f"old and new pods at once: {images}"
    c.roll(check=never_mixed)
    assert {p["spec"]["containers"][0]["image"] for p in c.pods()} == {"demo:2"}


@pytest.mark.parametrize("as_kubectl", [False, True])
def test_rollback_by_copying_an_old_template_reuses_its_replicaset(as_kubectl):
    c = Cluster(deployment(replicas=2))
    c.roll()
    c.set_image("demo:2")
    c.roll()
    first = c.sets()[0]
    template = rollout.strip_hash(first["spec"]["template"])  # what `cox rollout undo` does
    if as_kubectl:  # Go writes the template's zero creationTimestamp as null
        template["metadata"]["creationTimestamp"] = None
    c.update(template=template)
    c.roll()
    sets = c.sets()
    assert len(sets) == 2  # no third ReplicaSet
    assert sets[-1]["metadata"]["name"] == first["metadata"]["name"]
    assert rollout.revision_of(sets[-1]) == 3
    assert sets[-1]["metadata"]["annotations"][rollout.REVISION_HISTORY] == "1"
    assert c.deploy()["metadata"]["annotations"][rollout.REVISION] == "3"
    assert {p["spec"]["containers"][0]["image"] for p in c.pods()} == {"demo:1"}


def test_legacy_rollback_to_revision():
    c = Cluster(deployment(replicas=2))
    c.roll()
    c.set_image("demo:2")
    c.roll()
    c.update(rollbackTo={"revision": 1})
    c.roll()
    d = c.deploy()
    assert "rollbackTo" not in d["spec"]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "demo:1"
    assert {p["spec"]["containers"][0]["image"] for p in c.pods()} == {"demo:1"}


def test_paused_deployment_does_not_roll_out_but_still_scales():
    c = Cluster(deployment(replicas=2))
    c.roll()
    c.update(paused=True)
    c.set_image("demo:2")
    c.settle()
    c.kubelet()
    c.settle()
    assert len(c.sets()) == 1
    assert cond(c.deploy(), "Progressing")["reason"] == "DeploymentPaused"
    c.update(replicas=3)
    c.settle()
    assert c.sets()[0]["spec"]["replicas"] == 3
    c.update(paused=False)
    c.roll()
    assert {p["spec"]["containers"][0]["image"] for p in c.pods()} == {"demo:2"}


def test_revision_history_limit_deletes_the_oldest_empty_replicasets():
    c = Cluster(deployment(replicas=1, history=1))
    c.roll()
    for tag in ("2", "3", "4"):
        c.set_image(f"demo:{tag}")
        c.roll()
        c.settle()
    revs = [rollout.revision_of(r) for r in c.sets()]
    assert revs == [3, 4]  # the new one plus one old


def test_progress_deadline_exceeded_when_pods_never_become_ready():
    c = Cluster(deployment(replicas=2, deadline=30))
    c.roll()
    c.set_image("demo:broken")
    c.settle()
    assert cond(c.deploy(), "Progressing")["reason"] == "ReplicaSetUpdated"
    c.clock.advance(31)
    c.dc.queue.add("default/web")
    c.settle()
    p = cond(c.deploy(), "Progressing")
    assert (p["status"], p["reason"]) == ("False", "ProgressDeadlineExceeded")


def test_change_cause_annotation_is_carried_to_the_new_replicaset():
    d = deployment(replicas=1)
    d["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first",
                                    "kubectl.kubernetes.io/last-applied-configuration": "{}"}
    c = Cluster(d)
    c.roll()
    [rs] = c.sets()
    assert rs["metadata"]["annotations"]["kubernetes.io/change-cause"] == "first"
    assert "kubectl.kubernetes.io/last-applied-configuration" not in rs["metadata"]["annotations"]


def test_an_rs_the_cache_does_not_show_yet_is_reused_not_a_collision():
    """A pass that runs before the informer shows the RS it just created
    gets AlreadyExists; that is the same RS, not a hash collision (a stale
    cache right after a leader change once left two RSs for one template)."""
    c = Cluster(deployment(replicas=3))
    c.ctx.informers.relist()
    c.dc.drain()
    (first,) = c.sets()
    # the same pass again, with a cache that has not seen the RS
    c.ctx.informers["ReplicaSet"].apply_event("DELETED", first)
    d = c.ctx.informers["Deployment"].get("default/web")
    again = c.dc.get_or_create_new(d, [], 3)
    assert again is not None and again["metadata"]["name"] == first["metadata"]["name"]
    assert not (c.deploy().get("status") or {}).get("collisionCount")
    c.settle()
    assert [r["metadata"]["name"] for r in c.sets()] == [first["metadata"]["name"]]


def test_a_foreign_rs_with_the_hash_name_is_a_collision():
    c = Cluster(deployment(replicas=3))
    d = c.ctx.objects.get("Deployment", "default", "web")
    h = rollout.template_hash(d["spec"]["template"])
    c.ctx.objects.create({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                          "metadata": {"name": f"web-{h}", "namespace": "default"},
                          "spec": {"replicas": 0, "selector": {"matchLabels": {"other": "x"}},
                                   "template": {"metadata": {"labels": {"other": "x"}},
                                                "spec": {"containers": [
                                                    {"name": "c", "image": "other"}]}}}})
    c.settle()
    assert c.deploy()["status"]["collisionCount"] == 1
    mine = [r for r in c.sets() if r["metadata"]["name"] != f"web-{h}"]
    assert len(mine) == 1 and mine[0]["spec"]["replicas"] == 3
