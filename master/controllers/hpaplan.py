"""Pure: the Horizontal Pod Autoscaler's arithmetic (Kubernetes'
replica_calculator and the behavior rules of horizontal.go).

- Utilisation is the pods' summed usage over their summed requests; ready
  pods with a figure count. The figures are the Metrics API's (what the node
  agents report on their Leases, coxapi.usagereport), as Kubernetes' HPA
  reads metrics.k8s.io: usage is never written to the store. Within the
  tolerance (10 %) of the target nothing changes, else the recommendation
  is ``ceil(ratio * pods measured)``.
- Pods not measured yet (new, not ready) do not pull a scale-down: when the
  recommendation is a scale-down they count as at the target, when it is a
  scale-up as using nothing (Kubernetes' missing-metrics rule, simplified).
- Stabilisation: a scale-down takes the highest recommendation of the
  window (300 s by default), a scale-up the lowest of its window (0 s).
- Policies limit how far one step goes relative to the replicas at the
  start of each policy's period (``Pods``/``Percent``; ``selectPolicy``
  Max, Min or Disabled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from coxapi.quantity import parse_cpu, parse_memory
from coxapi.usagereport import Figures

from . import pods as podutil

Obj = dict[str, Any]
Usage = Mapping[str, Mapping[str, float]]  # pod uid -> cpu (millicores), memory (bytes)
TOLERANCE = 0.1
DEFAULT_UTILIZATION = 80  # autoscaling/v1's default targetCPUUtilizationPercentage

DEFAULT_SCALE_UP: Obj = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
    {"type": "Pods", "value": 4, "periodSeconds": 15},
    {"type": "Percent", "value": 100, "periodSeconds": 15}]}
DEFAULT_SCALE_DOWN: Obj = {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                           "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


@dataclass(frozen=True)
class Metric:
    resource: str  # cpu or memory
    utilization: int | None  # percent of requests, or
    average: float | None  # an average value per pod (millicores or bytes)


@dataclass(frozen=True)
class Reading:
    """One metric over the target's pods."""

    recommendation: int
    utilization: int | None  # current average utilisation, percent
    average: float  # current average value per measured pod
    measured: int


def metrics_of(hpa: Obj) -> list[Metric]:
    out = []
    for m in (hpa.get("spec") or {}).get("metrics") or []:
        if m.get("type") != "Resource":
            continue
        r = m.get("resource") or {}
        target = r.get("target") or {}
        if target.get("type") == "Utilization":
            out.append(Metric(r.get("name", "cpu"), int(target.get("averageUtilization", 0)),
                              None))
        elif target.get("type") == "AverageValue":
            value = target.get("averageValue")
            parse = parse_cpu if r.get("name") == "cpu" else parse_memory
            out.append(Metric(r.get("name", "cpu"), None, float(parse(str(value)))))
    if not (hpa.get("spec") or {}).get("metrics"):
        out.append(Metric("cpu", DEFAULT_UTILIZATION, None))
    return out


def _amount(resource: str, value: Any) -> float:
    return float(parse_cpu(str(value)) if resource == "cpu" else parse_memory(str(value)))


def _request(pod: Obj, resource: str) -> float | None:
    total = 0.0
    for c in (pod.get("spec") or {}).get("containers") or []:
        req = ((c.get("resources") or {}).get("requests") or {}).get(resource)
        if req is None:
            return None  # utilisation is undefined without every container's request
        total += _amount(resource, req)
    return total


def amounts(figures: Figures) -> dict[str, float]:
    """A report's (nanocores, bytes) in the units targets are parsed to."""
    return {"cpu": figures[0] / 1e6, "memory": float(figures[1])}


def read(metric: Metric, pods: list[Obj], current: int, measured_usage: Usage
         ) -> Reading | str:
    """The recommendation for one metric, or why there is none."""
    usage: dict[str, float] = {}
    requests: dict[str, float] = {}
    unmeasured = 0
    for pod in pods:
        name = pod["metadata"]["name"]
        value = (measured_usage.get(pod["metadata"].get("uid", "")) or {}).get(metric.resource)
        if value is None or not podutil.is_ready(pod):
            unmeasured += 1
            continue
        usage[name] = value
        if metric.utilization is not None:
            req = _request(pod, metric.resource)
            if not req:
                return f"missing request for {metric.resource} in pod {name}"
            requests[name] = req
    if not usage:
        return f"no pod reports {metric.resource} usage yet"
    measured = len(usage)
    average = sum(usage.values()) / measured
    utilization = None
    if metric.utilization is not None:
        utilization = round(sum(usage.values()) * 100 / sum(requests.values()))
        ratio = utilization / metric.utilization
    else:
        ratio = average / metric.average if metric.average else 0.0
    if abs(ratio - 1.0) <= TOLERANCE:
        return Reading(current, utilization, average, measured)
    if unmeasured:
        # the pods without figures count as at the target (scale-down) or idle (scale-up)
        n = measured + unmeasured
        filled = (ratio * measured + unmeasured) / n if ratio < 1 else ratio * measured / n
        if abs(filled - 1.0) <= TOLERANCE or (filled > 1) != (ratio > 1):
            return Reading(current, utilization, average, measured)
        return Reading(math.ceil(filled * n), utilization, average, measured)
    return Reading(math.ceil(ratio * measured), utilization, average, measured)


def behavior(hpa: Obj, direction: str) -> Obj:
    """``scaleUp`` or ``scaleDown`` rules: the spec's, over the defaults."""
    default = DEFAULT_SCALE_UP if direction == "scaleUp" else DEFAULT_SCALE_DOWN
    given = ((hpa.get("spec") or {}).get("behavior") or {}).get(direction) or {}
    return {**default, **given}


def stabilize(history: list[tuple[float, int]], recommendation: int, current: int, now: float,
              up_window: float, down_window: float) -> int:
    """``history``: earlier (time, recommendation) pairs. A scale-down goes no
    lower than the highest recommendation within the down window, a scale-up
    no higher than the lowest within the up window."""
    up_floor = min([r for t, r in history if t > now - up_window] + [recommendation])
    down_ceiling = max([r for t, r in history if t > now - down_window] + [recommendation])
    if recommendation > current:
        return max(current, up_floor)
    if recommendation < current:
        return min(current, down_ceiling)
    return current


def limit(rules: Obj, current: int, desired: int, events: list[tuple[float, int]],
          now: float) -> int:
    """How far policies let one step go. ``events``: earlier (time, change in
    replicas) scale events; each policy measures from the replicas at the
    start of its period."""
    select = rules.get("selectPolicy", "Max")
    if select == "Disabled":
        return current
    up = desired > current
    bounds = []
    for policy in rules.get("policies") or []:
        period = float(policy.get("periodSeconds", 15))
        changed = sum(d for t, d in events if t > now - period and (d > 0) == up)
        start = current - changed
        value = int(policy.get("value", 0))
        if policy.get("type") == "Pods":
            bound = start + value if up else start - value
        else:
            bound = (math.ceil(start * (1 + value / 100)) if up
                     else math.ceil(start * (1 - value / 100)))
        bounds.append(bound)
    if not bounds:
        return desired
    if up:
        allowed = max(bounds) if select == "Max" else min(bounds)
        return max(current, min(desired, allowed))
    allowed = min(bounds) if select == "Max" else max(bounds)
    return min(current, max(desired, allowed))
