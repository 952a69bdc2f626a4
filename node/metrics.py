"""Prometheus metrics of the node agent (prometheus_client's default registry),
served on the agent's port at ``/metrics`` (node.logserver)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

POD_SYNCS = Counter("agent_pod_syncs_total", "Pod syncs (one pod's plan applied and status "
                    "reported) by the agent's workers.")
POD_SYNC_SECONDS = Histogram("agent_pod_sync_duration_seconds", "One pod sync.",
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                                      10.0, 30.0))
PROBE_RESULTS = Counter("agent_probe_results_total", "Probe checks by probe kind and result.",
                        ["probe", "result"])
CONTAINER_RESTARTS = Counter("agent_container_restarts_total",
                             "Containers started again after they stopped (restart policy).")
