"""The usage report a node agent publishes on its Lease, and the Metrics API
objects (``metrics.k8s.io/v1beta1`` NodeMetrics, PodMetrics) made from it. Pure.

The agent samples its node (``/proc/stat``, memory in use) and every running
container (cgroup CPU time, memory working set) every ``stats_period``
(5 s) and puts the latest figures on its Lease in ``kube-node-lease`` at each
renewal (every ``heartbeat_period``, 5 s). The report therefore reaches the
masters at most ~10 s after it was measured, and costs no Raft write of its
own: it rides on the Lease renewal the node makes anyway (100 nodes make 20
Lease writes a second either way; only their size grows, by ~60 bytes a
container).

Report (compact JSON in the ``USAGE_ANNOTATION`` annotation)::

    {"t": "<RFC 3339 time of the sample>", "w": <seconds the rates cover>,
     "node": [cpu nanocores, memory bytes],
     "pods": {"<pod uid>": {"<container>": [cpu nanocores, memory bytes]}}}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .timefmt import parse_epoch

Obj = dict[str, Any]
USAGE_ANNOTATION = "metrics.coxswain.io/usage"
GROUP_VERSION = "metrics.k8s.io/v1beta1"
Figures = tuple[int, int]  # cpu nanocores, memory bytes
STALE_AFTER = 60.0  # seconds: an older report is left out, as metrics-server drops
# a node it could not scrape


@dataclass
class UsageReport:
    timestamp: str
    window: float
    node: Figures
    pods: dict[str, dict[str, Figures]] = field(default_factory=dict)

    def encode(self) -> str:
        return json.dumps({"t": self.timestamp, "w": round(self.window, 3), "node": list(self.node),
                           "pods": {uid: {c: list(f) for c, f in cs.items()}
                                    for uid, cs in self.pods.items()}},
                          separators=(",", ":"), sort_keys=True)

    @classmethod
    def decode(cls, text: str | None) -> UsageReport | None:
        """The report, or None if absent or malformed (an older agent, a bad write)."""
        if not text:
            return None
        try:
            doc = json.loads(text)
            return cls(str(doc["t"]), float(doc["w"]), _figures(doc["node"]),
                       {str(uid): {str(c): _figures(f) for c, f in cs.items()}
                        for uid, cs in (doc.get("pods") or {}).items()})
        except (ValueError, KeyError, TypeError, AttributeError):
            return None


def _figures(value: Any) -> Figures:
    cpu, mem = value
    return max(0, int(cpu)), max(0, int(mem))


def of_lease(lease: Obj) -> UsageReport | None:
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    return UsageReport.decode(annotations.get(USAGE_ANNOTATION))


def fresh(lease: Obj | None, now: float) -> UsageReport | None:
    """The Lease's report if it was measured within ``STALE_AFTER`` of ``now``."""
    report = of_lease(lease) if lease is not None else None
    taken = parse_epoch(report.timestamp) if report is not None else None
    if report is None or taken is None or now - taken > STALE_AFTER:
        return None
    return report


def fresh_reports(leases: list[Obj], now: float) -> dict[str, UsageReport]:
    """Node name -> its latest report, if it is recent enough."""
    out = {}
    for lease in leases:
        report = fresh(lease, now)
        if report is not None:
            out[lease["metadata"]["name"]] = report
    return out


def pod_totals(report: UsageReport, uid: str) -> Figures | None:
    """The pod's containers summed, or None if the report has no figures for it."""
    containers = report.pods.get(uid)
    if not containers:
        return None
    return (sum(f[0] for f in containers.values()), sum(f[1] for f in containers.values()))


def cpu_quantity(nanocores: int) -> str:
    """metrics-server's form: nanocores (``12345n``)."""
    return f"{nanocores}n"


def memory_quantity(n: int) -> str:
    """metrics-server's form: KiB (``12345Ki``), bytes below 1 KiB."""
    return f"{n // 1024}Ki" if n >= 1024 else str(n)


def _usage(f: Figures) -> Obj:
    return {"cpu": cpu_quantity(f[0]), "memory": memory_quantity(f[1])}


def _window(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


def node_metrics(node: Obj, report: UsageReport) -> Obj:
    meta = node.get("metadata") or {}
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": meta.get("name", ""), "labels": meta.get("labels") or {},
                         "creationTimestamp": report.timestamp},
            "timestamp": report.timestamp, "window": _window(report.window),
            "usage": _usage(report.node)}


def pod_metrics(pod: Obj, report: UsageReport) -> Obj | None:
    """The pod's metrics, or None if the report has no figures for it yet."""
    meta = pod.get("metadata") or {}
    containers = report.pods.get(meta.get("uid", ""))
    if not containers:
        return None
    order = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    names = sorted(containers, key=lambda n: order.index(n) if n in order else len(order))
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION,
            "metadata": {"name": meta.get("name", ""), "namespace": meta.get("namespace", ""),
                         "labels": meta.get("labels") or {},
                         "creationTimestamp": report.timestamp},
            "timestamp": report.timestamp, "window": _window(report.window),
            "containers": [{"name": n, "usage": _usage(containers[n])} for n in names]}
