"""The node agent's settings (flags of ``cox node run``, or set by tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .registration import NodeConfig


@dataclass
class AgentConfig:
    node: NodeConfig
    data_dir: str
    masters: list[str] = field(default_factory=list)
    token: str = ""
    pod_network: str = "cox-pods"
    cluster_cidr: str = "10.244.0.0/16"
    sync_period: float = 1.0
    heartbeat_period: float = 5.0
    stats_period: float = 5.0
    route_period: float = 3.0
    manage_network: bool = True  # routes, masquerade, ip_forward in our namespace
    serve_logs: bool = True
    run_proxy: bool = True
    drain_timeout: float = 10.0  # longest wait for proxies to drop a terminating pod
    extra_labels: dict[str, str] = field(default_factory=dict)  # stamped on every container
