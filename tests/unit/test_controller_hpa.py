"""Horizontal Pod Autoscaler: the arithmetic, and the controller over a fake
clock, an in-memory store and pods whose usage the test reports on their
node's Lease (as the node agents do, coxapi.usagereport)."""

from __future__ import annotations

import pytest

from coxapi import kinds
from coxapi.errors import Invalid, NotFound
from coxapi.kinds.lease import NODE_LEASE_NAMESPACE
from coxapi.timefmt import rfc3339
from coxapi.usagereport import STALE_AFTER, USAGE_ANNOTATION, UsageReport
from master.admission.strategy import prepare_create
from master.controllers import hpaplan
from master.controllers.hpa import HorizontalPodAutoscalerController
from master.controllers.testing import make_context, pod

HPA = kinds.lookup("HorizontalPodAutoscaler")
LABELS = {"app": "web"}


def hpa(low=1, high=10, utilization=50, **spec):
    return prepare_create(HPA, {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                 "minReplicas": low, "maxReplicas": high,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": utilization}}}], **spec}})


def deployment(replicas):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": LABELS},
                     "template": {"metadata": {"labels": LABELS}, "spec": {"containers": [
                         {"name": "app", "image": "demo"}]}}}}


def busy(name, ready=True):
    p = pod(name, cpu="100m", labels=LABELS, phase="Running", ready=ready, node_name="n1")
    p["metadata"]["uid"] = f"uid-{name}"
    return p


def measured(**millicores):
    """Usage by pod uid, as the HPA controller reads it from the reports."""
    return {f"uid-{name}": {"cpu": float(m), "memory": 10.0 * 2**20}
            for name, m in millicores.items()}


class World:
    def __init__(self, replicas, *hpa_objs):
        self.ctx, self.clock = make_context()
        self.ctx.objects.create(deployment(replicas))
        for o in hpa_objs:
            self.ctx.objects.create(o)
        self.c = HorizontalPodAutoscalerController(self.ctx)

    def set_pods(self, usages):
        """Pods web-0.. on node n1, using this CPU (None: a pod n1's reports
        have no figures for)."""
        for p in self.ctx.objects.list("Pod", "default")[0]:
            self.ctx.objects.delete("Pod", "default", p["metadata"]["name"])
        self.figures = {}
        for i, u in enumerate(usages):
            uid = self.ctx.objects.create(busy(f"web-{i}"))["metadata"]["uid"]
            if u is not None:
                self.figures[uid] = {"app": (u * 10**6, 10 * 2**20)}

    def report(self, taken):
        """n1's Lease carrying its usage report measured at ``taken``."""
        report = UsageReport(rfc3339(taken, micro=True), 5.0, (0, 0), self.figures)
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "n1", "namespace": NODE_LEASE_NAMESPACE,
                              "annotations": {USAGE_ANNOTATION: report.encode()}},
                 "spec": {"holderIdentity": "n1"}}
        try:
            self.ctx.objects.delete("Lease", NODE_LEASE_NAMESPACE, "n1")
        except NotFound:
            pass
        self.ctx.objects.create(lease)

    def sync(self, reported_at=None):
        """One pass, n1 having just reported (as it does every 5 s) unless told when."""
        self.report(self.clock() if reported_at is None else reported_at)
        self.ctx.informers.relist()
        self.c.periodic()
        self.c.drain()

    def replicas(self):
        return self.ctx.objects.get("Deployment", "default", "web")["spec"]["replicas"]

    def status(self):
        return self.ctx.objects.get("HorizontalPodAutoscaler", "default", "web")["status"]


def condition(status, ctype):
    return next(c for c in status["conditions"] if c["type"] == ctype)


def test_validation_names_fields():
    with pytest.raises(Invalid) as e:
        hpa(low=5, high=2)
    assert "spec.maxReplicas" in str(e.value.to_status())
    with pytest.raises(Invalid) as e:
        hpa(metrics=[{"type": "External"}])
    assert "spec.metrics[0].type" in str(e.value.to_status())
    with pytest.raises(Invalid) as e:
        hpa(behavior={"scaleDown": {"policies": [{"type": "Pods", "value": 0,
                                                  "periodSeconds": 15}]}})
    assert "spec.behavior.scaleDown.policies[0].value" in str(e.value.to_status())


def test_reading_tolerance_and_missing_pods():
    m = hpaplan.Metric("cpu", 50, None)
    pods = [busy("a"), busy("b")]
    # 54 % against 50 %: within 10 %
    assert hpaplan.read(m, pods, 2, measured(a=54, b=54)).recommendation == 2
    assert hpaplan.read(m, pods, 2, measured(a=100, b=100)).recommendation == 4
    # a pod without figures does not pull a scale-down below what the others need
    r = hpaplan.read(m, pods, 2, measured(a=10))
    assert r.recommendation == 2  # (0.2 + 1) / 2 = 0.6 -> ceil(1.2)
    assert isinstance(hpaplan.read(m, [busy("a")], 1, {}), str)
    # nor does a pod that is not ready, whatever it uses
    r = hpaplan.read(m, [busy("a"), busy("b", ready=False)], 2, measured(a=10, b=500))
    assert r.recommendation == 2


def test_policies_limit_a_step():
    up = hpaplan.behavior({}, "scaleUp")
    assert hpaplan.limit(up, 2, 20, [], 0.0) == 6  # max(2 + 4, 2 * 2)
    assert hpaplan.limit(up, 10, 40, [], 0.0) == 20
    down = {"selectPolicy": "Max", "policies": [{"type": "Pods", "value": 1,
                                                 "periodSeconds": 60}]}
    assert hpaplan.limit(down, 5, 1, [], 100.0) == 4
    assert hpaplan.limit(down, 4, 1, [(90.0, -1)], 100.0) == 4  # used up this period
    assert hpaplan.limit(down, 4, 1, [(30.0, -1)], 100.0) == 3


def test_scales_out_under_load_then_in_after_the_window():
    w = World(2, hpa(behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    w.set_pods([100, 100])  # 100 % of requests, target 50 %
    w.sync()
    assert w.replicas() == 4
    st = w.status()
    assert st["desiredReplicas"] == 4 and st["currentMetrics"][0]["resource"]["current"][
        "averageUtilization"] == 100
    assert condition(st, "ScalingActive")["status"] == "True"
    w.set_pods([50] * 4)
    w.clock.advance(15)
    w.sync()
    assert w.replicas() == 4  # at the target
    w.set_pods([5] * 4)  # load gone
    for _ in range(3):
        w.clock.advance(15)
        w.sync()
        assert w.replicas() == 4  # the window still remembers 4
    assert condition(w.status(), "AbleToScale")["reason"] == "ScaleDownStabilized"
    w.clock.advance(30)
    w.sync()
    assert w.replicas() == 1
    assert w.status()["desiredReplicas"] == 1


def test_min_max_and_limited_condition():
    w = World(2, hpa(high=3))
    w.set_pods([500, 500])
    w.sync()
    assert w.replicas() == 3
    c = condition(w.status(), "ScalingLimited")
    assert (c["status"], c["reason"]) == ("True", "TooManyReplicas")


def test_no_metrics_is_reported_not_scaled():
    w = World(2, hpa())
    w.set_pods([None, None])
    w.sync()
    assert w.replicas() == 2
    c = condition(w.status(), "ScalingActive")
    assert (c["status"], c["reason"]) == ("False", "FailedGetResourceMetric")


def test_a_stale_report_counts_as_no_metrics():
    """A node that stopped reporting (down, partitioned) gives no figures, as
    metrics-server drops a node it cannot scrape."""
    w = World(2, hpa())
    w.set_pods([500, 500])
    w.sync(reported_at=w.clock() - STALE_AFTER - 1)
    assert w.replicas() == 2
    c = condition(w.status(), "ScalingActive")
    assert (c["status"], c["reason"]) == ("False", "FailedGetResourceMetric")
    w.sync()
    assert w.replicas() == 6  # a step of max(2 + 4, 2 * 2) towards 20
