"""Node lifecycle: NotReady and taints after the grace period, eviction after
the timeout, recovery on renewal, and no eviction right after a takeover."""

from __future__ import annotations

from coxapi.timefmt import rfc3339
from master.controllers.nodelifecycle import UNREACHABLE, NodeLifecycleController
from master.controllers.testing import make_context, node, pod

GRACE, EVICT = 20.0, 10.0


def lease(name, renew):
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                     "renewTime": rfc3339(renew, micro=True)}}


class World:
    def __init__(self, nodes=("n1", "n2"), pods_on=None):
        self.ctx, self.clock = make_context(node_grace_period=GRACE, eviction_timeout=EVICT)
        for n in nodes:
            self.ctx.objects.create(node(n))
            self.ctx.objects.create(lease(n, self.clock()))
        for p in pods_on or []:
            self.ctx.objects.create(p)
        self.take_over()

    def take_over(self):
        """A new leader: fresh controller, fresh caches, its clock starts now."""
        from master.controllers.base import Context
        self.ctx = Context(self.ctx.objects, self.ctx.config)
        self.nlc = NodeLifecycleController(self.ctx)
        self.sync()

    def sync(self):
        self.ctx.informers.relist()
        for key in self.nlc.nodes.list_keys():
            self.nlc.process(key)

    def renew(self, name):
        self.ctx.objects.guaranteed_update(
            "Lease", "kube-node-lease", name,
            lambda o: {**o, "spec": {**o["spec"], "renewTime": rfc3339(self.clock(), True)}})

    def tick(self, seconds, renewing=("n1",)):
        """Advance time in 1 s steps; the named nodes renew every 5 s."""
        for _ in range(int(seconds)):
            self.clock.advance(1)
            if int(self.clock()) % 5 == 0:
                for n in renewing:
                    self.renew(n)
            self.sync()

    def node(self, name):
        return self.ctx.objects.get("Node", None, name)

    def pods(self):
        return {p["metadata"]["name"] for p in self.ctx.objects.list("Pod", "default")[0]}


def ready_status(n):
    return next(c for c in n["status"]["conditions"] if c["type"] == "Ready")


def taints(n):
    return {(t["key"], t["effect"]) for t in n["spec"].get("taints") or []}


BOTH = {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}


def test_silent_node_goes_unknown_and_is_tainted_after_the_grace_period():
    w = World()
    w.tick(GRACE - 1)
    assert taints(w.node("n2")) == set() and ready_status(w.node("n2"))["status"] == "True"
    w.tick(2)
    n2 = w.node("n2")
    c = ready_status(n2)
    assert (c["status"], c["reason"]) == ("Unknown", "NodeStatusUnknown")
    assert taints(n2) == BOTH
    assert taints(w.node("n1")) == set()  # the renewing node is untouched


def test_pods_are_evicted_only_after_the_eviction_timeout():
    w = World(pods_on=[pod("a", node_name="n2"), pod("b", node_name="n1")])
    w.tick(GRACE + 1)
    assert w.pods() == {"a", "b"}
    w.tick(EVICT - 2)
    assert w.pods() == {"a", "b"}
    w.tick(2)
    assert w.pods() == {"b"}  # force-deleted: gone at once, not marked


def test_tolerated_noexecute_taint_keeps_pod_for_its_toleration_seconds():
    tol = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    w = World(pods_on=[pod("forever", node_name="n2", tolerations=[tol]),
                       pod("short", node_name="n2",
                           tolerations=[{**tol, "tolerationSeconds": 30}])])
    w.tick(GRACE + 1 + EVICT + 1)
    assert w.pods() == {"forever", "short"}
    w.tick(20)
    assert w.pods() == {"forever"}


def test_renewed_lease_removes_the_taints():
    w = World()
    w.tick(GRACE + 2)
    assert taints(w.node("n2")) == BOTH
    w.renew("n2")
    w.sync()
    assert taints(w.node("n2")) == set()


def test_new_leader_waits_a_full_grace_period_before_judging_nodes():
    w = World(pods_on=[pod("a", node_name="n2")])
    # the old leader saw n2 go silent and tainted it, then lost leadership
    w.tick(GRACE + 2)
    assert taints(w.node("n2")) == BOTH
    w.take_over()
    # long wall-clock silence already, but this leader has watched only now
    w.tick(GRACE + EVICT - 2)
    assert w.pods() == {"a"}
    w.tick(4)
    assert w.pods() == set()


def test_failover_does_not_strand_healthy_nodes():
    w = World()
    w.tick(7, renewing=("n1", "n2"))
    w.clock.advance(60)  # a long election: nobody watching, renewals continue unseen
    w.renew("n1")
    w.renew("n2")
    w.take_over()
    w.tick(GRACE + EVICT + 5, renewing=("n1", "n2"))
    assert taints(w.node("n1")) == set() and taints(w.node("n2")) == set()


def test_pods_stuck_terminating_on_a_dead_node_are_force_deleted():
    w = World(pods_on=[pod("stuck", node_name="n2")])
    w.ctx.objects.guaranteed_update("Pod", "default", "stuck", lambda o: {**o, "metadata": {
        **o["metadata"], "deletionTimestamp": "2030-01-01T00:00:00Z",
        "deletionGracePeriodSeconds": 30}})
    assert w.ctx.objects.get("Pod", "default", "stuck")["metadata"]["deletionTimestamp"]
    w.tick(GRACE + EVICT + 2)
    assert w.pods() == set()  # its node can never finish the graceful delete
