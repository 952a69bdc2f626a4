"""Horizontal Pod Autoscaler controller: every ``period`` seconds (15, as
Kubernetes' --horizontal-pod-autoscaler-sync-period) each HPA reads its
target's pods and their usage (the reports on their nodes' Leases, which the
Metrics API serves too), and sets the target's ``spec.replicas``
(``hpaplan`` holds the arithmetic).

Recommendations and scale events live in memory, as in Kubernetes: a new
leader starts with an empty stabilisation window.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from coxapi import errors, kinds, labels, timefmt, usagereport
from coxapi.kinds.lease import NODE_LEASE_NAMESPACE
from coxapi.meta import key_of

from . import hpaplan
from . import pods as podutil
from .base import Context, Controller
from .conditions import set_condition

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SYNC_PERIOD = 15.0


class HorizontalPodAutoscalerController(Controller):
    name = "horizontal-pod-autoscaler"
    period = SYNC_PERIOD

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.hpas = ctx.informers["HorizontalPodAutoscaler"]
        self.pods = ctx.informers["Pod"]
        self.leases = ctx.informers["Lease"]
        self.hpas.add_handler(**self.handlers())
        self.recommendations: dict[str, list[tuple[float, int]]] = {}
        self.scale_events: dict[str, list[tuple[float, int]]] = {}

    def periodic(self) -> None:
        for hpa in self.hpas.list():
            self.enqueue(hpa)

    def reconcile(self, key: str) -> float | None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.recommendations.pop(key, None)
            self.scale_events.pop(key, None)
            return None
        now = self.config.clock()
        spec = hpa.get("spec") or {}
        ns = hpa["metadata"].get("namespace")
        status = copy.deepcopy(hpa.get("status") or {})
        ref = spec.get("scaleTargetRef") or {}
        try:
            kind = kinds.lookup(str(ref.get("kind", "")))
            target = self.objects.get(kind, ns, str(ref.get("name", "")))
            selector = labels.from_label_selector((target.get("spec") or {}).get("selector"))
        except (kinds.UnknownKind, errors.NotFound, labels.SelectorError) as e:
            set_condition(status, "AbleToScale", False, "FailedGetScale",
                          f"the HPA controller was unable to get the target's current scale: {e}",
                          now)
            self._write_status(hpa, status)
            return None
        current = int((target.get("spec") or {}).get("replicas", 1) or 0)
        low, high = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        status["currentReplicas"] = current
        if current == 0:  # scaling to zero turns autoscaling off (as in Kubernetes)
            set_condition(status, "ScalingActive", False, "ScalingDisabled",
                          "scaling is disabled since the replica count of the target is zero",
                          now)
            status["desiredReplicas"] = 0
            self._write_status(hpa, status)
            return None
        pods = [p for p in self.pods.list(ns) if podutil.is_active(p)
                and labels.matches(selector, p["metadata"].get("labels"))]
        usage = self._usage(pods, now)
        raw, problem = current, None
        metrics: list[Obj] = []
        for metric in hpaplan.metrics_of(hpa):
            reading = hpaplan.read(metric, pods, current, usage)
            if isinstance(reading, str):
                problem = reading
                continue
            raw = max(raw, reading.recommendation) if metrics else reading.recommendation
            metrics.append(_metric_status(metric, reading))
        if not metrics:
            set_condition(status, "ScalingActive", False, "FailedGetResourceMetric",
                          f"the HPA was unable to compute the replica count: {problem}", now)
            status["desiredReplicas"] = current
            self._write_status(hpa, status)
            return None
        set_condition(status, "ScalingActive", True, "ValidMetricFound",
                      "the HPA was able to successfully calculate a replica count", now)
        status["currentMetrics"] = metrics
        desired, why = self._desired(key, hpa, current, raw, low, high, now, status)
        if desired != current:
            self._scale(kind, target, desired)
            self.scale_events.setdefault(key, []).append((now, desired - current))
            status["lastScaleTime"] = timefmt.rfc3339(now)
            self.events.normal(hpa, "SuccessfulRescale",
                               f"New size: {desired}; reason: {why}")
        status["desiredReplicas"] = desired
        self._write_status(hpa, status)
        return None

    def _usage(self, pods: list[Obj], now: float) -> dict[str, dict[str, float]]:
        """Pod uid -> its usage, from its node's latest report (if recent)."""
        reports: dict[str, usagereport.UsageReport | None] = {}
        out = {}
        for p in pods:
            node = (p.get("spec") or {}).get("nodeName") or ""
            if node not in reports:
                reports[node] = usagereport.fresh(
                    self.leases.get_by(NODE_LEASE_NAMESPACE, node), now) if node else None
            report, uid = reports[node], p["metadata"].get("uid", "")
            totals = usagereport.pod_totals(report, uid) if report is not None else None
            if totals is not None:
                out[uid] = hpaplan.amounts(totals)
        return out

    def _desired(self, key: str, hpa: Obj, current: int, raw: int, low: int, high: int,
                 now: float, status: Obj) -> tuple[int, str]:
        up, down = hpaplan.behavior(hpa, "scaleUp"), hpaplan.behavior(hpa, "scaleDown")
        up_window = float(up.get("stabilizationWindowSeconds", 0))
        down_window = float(down.get("stabilizationWindowSeconds", 300))
        history = self.recommendations.setdefault(key, [])
        stable = hpaplan.stabilize(history, raw, current, now, up_window, down_window)
        history.append((now, raw))
        keep = max(up_window, down_window)
        history[:] = [(t, r) for t, r in history if t > now - keep]
        events = self.scale_events.setdefault(key, [])
        events[:] = [(t, d) for t, d in events if t > now - 1800]
        rules = up if stable > current else down
        limited = hpaplan.limit(rules, current, stable, events, now)
        desired = min(max(limited, low), high)
        if stable != raw:
            set_condition(status, "AbleToScale", True, "ScaleDownStabilized",
                          "recent recommendations were higher than current one, applying the "
                          "highest recent recommendation", now)
        else:
            set_condition(status, "AbleToScale", True, "ReadyForNewScale",
                          "recommended size matches current size", now)
        if limited < low or limited > high or (raw > high or raw < low):
            reason = "TooManyReplicas" if raw > high else "TooFewReplicas"
            set_condition(status, "ScalingLimited", True, reason,
                          f"the desired replica count is {'more' if raw > high else 'less'} "
                          f"than the {'maximum' if raw > high else 'minimum'} replica count", now)
        else:
            set_condition(status, "ScalingLimited", False, "DesiredWithinRange",
                          "the desired count is within the acceptable range", now)
        direction = "above" if desired > current else "below"
        return desired, f"All metrics {direction} target"

    def _scale(self, kind: kinds.Kind, target: Obj, replicas: int) -> None:
        uid = target["metadata"].get("uid")

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            cur.setdefault("spec", {})["replicas"] = replicas
            return cur
        self.objects.guaranteed_update(kind, target["metadata"].get("namespace"),
                                       target["metadata"]["name"], write)
        log.info("%s: scaled %s to %d", self.name, key_of(target), replicas)

    def _write_status(self, hpa: Obj, status: Obj) -> None:
        if status == (hpa.get("status") or {}):
            return
        new = copy.deepcopy(hpa)
        new["status"] = status
        self.objects.update(new, old=hpa)


def _metric_status(metric: hpaplan.Metric, reading: hpaplan.Reading) -> Obj:
    if metric.resource == "cpu":
        value = f"{round(reading.average)}m"
    else:
        value = str(round(reading.average))
    current: Obj = {"averageValue": value}
    if reading.utilization is not None:
        current["averageUtilization"] = reading.utilization
    return {"type": "Resource", "resource": {"name": metric.resource, "current": current}}
