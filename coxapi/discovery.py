"""Which masters a client should talk to, learnt from the cluster.

Every master records its API address under the ``kubernetes`` Endpoints'
``MASTERS_ANNOTATION`` (Raft address -> API ``HOST:PORT``), and the leader drops
the entries of masters that left the Raft membership
(master/admission/kubernetesservice.py). A client that refreshes from it keeps
reaching the cluster after every master it was started with is gone
(docs/membership.md). Pure.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from .apiservice import NAME, NAMESPACE

MASTERS_ANNOTATION = "coxswain.io/masters"
ENDPOINTS_PATH = f"/api/v1/namespaces/{NAMESPACE}/endpoints/{NAME}"


def recorded_masters(endpoints: Any) -> dict[str, str]:
    """Raft address -> API ``HOST:PORT`` from the annotation; {} when absent or bad."""
    if not isinstance(endpoints, dict):
        return {}
    raw = ((endpoints.get("metadata") or {}).get("annotations") or {}).get(MASTERS_ANNOTATION)
    try:
        value = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str) and v}


def _host_port(address: str) -> str:
    host, _, port = address.rpartition(":")
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else address


def master_urls(endpoints: Any, scheme: str) -> list[str]:
    """The API URLs the annotation names, sorted (one order for every client)."""
    return sorted({f"{scheme}://{_host_port(a)}" for a in recorded_masters(endpoints).values()})


def merged(discovered: list[str], seeds: list[str]) -> list[str]:
    """The discovered masters first; the configured ones after them, as a last
    resort should every discovered master be gone too."""
    return discovered + [s for s in seeds if s not in discovered]


def scheme_of(servers: list[str]) -> str:
    return urlsplit(servers[0]).scheme or "https"
