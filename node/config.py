"""The node agent's settings.

``AgentConfig`` is what the agent runs with (tests build it directly).
``NodeRunConfig`` is what ``cox node run`` reads, loaded by ``coxapi.config``
from a YAML file (``--config FILE``), ``COX_NODE_*`` variables and flags, in
that order (docs/config.md); its defaults are the agent's and the node's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coxapi.config import CLUSTER_CIDR

from .registration import NodeConfig, Taint

ENV_PREFIX = "COX_NODE_"


@dataclass
class AgentConfig:
    node: NodeConfig
    data_dir: str
    masters: list[str] = field(default_factory=list)
    token: str = ""
    ca_file: str | None = None  # the cluster CA the masters' certificates chain to
    # the agent server's certificate and key (PEM; `cox master init --node-address`);
    # without them it serves masters in clear
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None
    pod_network: str = "cox-pods"
    cluster_cidr: str = CLUSTER_CIDR
    sync_period: float = 1.0
    pod_relist_period: float = 10.0  # seconds between the sync loop's own lists of its pods
    heartbeat_period: float = 5.0
    # the Node status is written when its Ready condition changes, else this often
    node_status_report_period: float = 60.0
    stats_period: float = 5.0
    route_period: float = 3.0
    manage_network: bool = True  # routes, masquerade, ip_forward in our namespace
    serve_logs: bool = True
    run_proxy: bool = True
    # configMap/secret/downwardAPI volumes of running pods are rewritten this often if changed
    volume_refresh_period: float = 2.0
    # directories of deleted local-path volumes are removed this often
    local_path_reclaim_period: float = 10.0
    # emptyDirs with a sizeLimit are measured this often (kubelet's housekeeping: 10s)
    emptydir_check_period: float = 10.0
    serve_dns: bool = True  # cluster DNS on the pod network's gateway (needs manage_network)
    drain_timeout: float = 10.0  # longest wait for proxies to drop a terminating pod
    extra_labels: dict[str, str] = field(default_factory=dict)  # stamped on every container


@dataclass
class NodeRunConfig:
    name: str
    masters: list[str]  # API URLs; the agent fails over between them
    token_file: str  # this node's bearer token (never a setting itself)
    address: str  # this node's InternalIP (pods route via it)
    data_dir: str  # pod volumes (emptyDir)
    ca_file: str | None = None  # the cluster CA (PEM); None: the system's CAs
    tls_cert_file: str | None = None  # the agent server's certificate (DIR/pki/node-NAME.crt)
    tls_private_key_file: str | None = None
    docker_host: str = "unix:///var/run/docker.sock"
    port: int = 10250  # the container-logs endpoint, bound on address
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)  # key=value:Effect
    max_pods: int = NodeConfig.max_pods
    cluster_cidr: str = AgentConfig.cluster_cidr  # pod traffic beyond it is masqueraded
    pod_network: str = AgentConfig.pod_network  # the Docker network pods join
    heartbeat_period: float = AgentConfig.heartbeat_period
    run_proxy: bool = AgentConfig.run_proxy  # the service proxy in this process
    manage_network: bool = AgentConfig.manage_network  # routes, masquerade, ip_forward
    log_level: str = "INFO"

    def agent_config(self, token: str) -> AgentConfig:
        """Raises ValueError naming a malformed taint."""
        try:
            taints = [Taint.parse(t) for t in self.taints]
        except ValueError as e:
            raise ValueError(f"taints: {e}") from None
        return AgentConfig(
            node=NodeConfig(name=self.name, address=self.address, port=self.port,
                            labels=dict(self.labels), taints=taints, max_pods=self.max_pods),
            data_dir=self.data_dir, masters=list(self.masters), token=token,
            ca_file=self.ca_file, tls_cert_file=self.tls_cert_file,
            tls_private_key_file=self.tls_private_key_file,
            pod_network=self.pod_network, cluster_cidr=self.cluster_cidr,
            heartbeat_period=self.heartbeat_period, manage_network=self.manage_network,
            run_proxy=self.run_proxy)
