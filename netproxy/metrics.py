"""Prometheus metrics of the service proxy (served by the node agent's ``/metrics``
when the proxy runs inside it, which is how nodes run it)."""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

SYNC_SECONDS = Histogram("netproxy_sync_duration_seconds",
                         "One pass: plan from Services and Endpoints, write if changed.",
                         buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0))
PLAN_SIZE = Gauge("netproxy_plan_size", "Size of the nftables plan last computed, by part "
                  "(chains, rules, maps, elements).", ["part"])
