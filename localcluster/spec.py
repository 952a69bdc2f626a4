"""The desired shape of a local cluster and every name and address derived from it.

Pure: nothing here touches the machine. One ``ClusterSpec`` fixes the names
(bridge, namespaces, veths, nftables table), the addresses (bridge, nodes,
masters' API and Raft ports) and the paths (data, run and log directories)
that ``up`` creates and ``down`` removes, following "Local cluster network" in
docs/contracts.md. Tests use their own prefix and subnet so they never collide
with a real ``cox cluster up``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from coxapi import apiservice
from coxapi.config import CLUSTER_CIDR, SERVICE_CIDR

IFNAMSIZ = 15  # the kernel's limit on an interface name, without the NUL
NETNS_DIR = Path("/run/netns")


class SpecError(ValueError):
    """The requested cluster cannot be laid out (bad counts, names or addresses)."""


@dataclass(frozen=True)
class MasterSpec:
    index: int  # 1-based
    name: str
    api_host: str
    api_port: int
    raft_host: str
    raft_port: int
    data_dir: Path
    log: Path
    scheme: str = "https"

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://{self.api_host}:{self.api_port}"

    @property
    def listen(self) -> str:
        return f"{self.api_host}:{self.api_port}"

    @property
    def raft(self) -> str:
        return f"{self.raft_host}:{self.raft_port}"


@dataclass(frozen=True)
class NodeSpec:
    index: int  # 1-based
    name: str
    netns: str
    veth_host: str
    address: str  # without prefix length
    prefixlen: int
    gateway: str
    data_dir: Path  # the agent's --data-dir; docker's data root lives inside
    run_dir: Path  # sockets, exec root and pidfile (tmpfs)
    token_file: Path
    dockerd_log: Path
    agent_log: Path

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def docker_data_root(self) -> Path:
        return self.data_dir / "docker"

    @property
    def docker_exec_root(self) -> Path:
        return self.run_dir / "exec"

    @property
    def docker_socket(self) -> Path:
        return self.run_dir / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.docker_socket}"

    @property
    def dockerd_pidfile(self) -> Path:
        return self.run_dir / "dockerd.pid"

    @property
    def cgroup_parent(self) -> str:
        # One cgroup subtree per node keeps its containers apart from the host's
        # dockerd and from the other nodes, and tells down what to remove.
        return f"/{self.netns}"


@dataclass(frozen=True)
class ClusterSpec:
    dir: Path
    masters: int = 3
    nodes: int = 2
    prefix: str = "cox"
    bridge: str = "cox0"
    subnet: str = "10.250.0.0/24"
    run_root: Path = Path("/run/coxswain")
    cluster_cidr: str = CLUSTER_CIDR
    service_cidr: str = SERVICE_CIDR
    seal_table: str = "coxswain-seal"
    api_port_base: int = 6443
    raft_port_base: int = 7001
    raft_host: str = "127.0.0.1"
    agent_port: int = 10250
    image: str = "coxswain/demo:latest"
    insecure_http: bool = False  # masters serve plain HTTP (tests that need it), no certificates
    # The masters' node lifecycle timing (seconds); None keeps the masters' defaults.
    # Short values let a test watch a lost node be fenced off and its pods moved.
    node_grace_period: float | None = None
    eviction_timeout: float | None = None
    # Which masters (by index) make up the cluster, once masters were added or
    # removed at run time (`cox cluster add-master`); empty: m1..mN.
    master_indices: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.masters <= 7:
            raise SpecError(f"--masters must be between 1 and 7, not {self.masters}")
        if self.master_indices and (len(self.master_indices) != self.masters
                                    or min(self.master_indices) < 1):
            raise SpecError(f"master indices {self.master_indices} do not make "
                            f"{self.masters} masters")
        if not 0 <= self.nodes <= 50:
            raise SpecError(f"--nodes must be between 0 and 50, not {self.nodes}")
        try:
            net = ipaddress.IPv4Network(self.subnet)
            for cidr in (self.cluster_cidr, self.service_cidr):
                ipaddress.IPv4Network(cidr)
        except ValueError as e:
            raise SpecError(f"bad network: {e}") from None
        if net.num_addresses < 16 + self.nodes:
            raise SpecError(f"subnet {self.subnet} is too small for {self.nodes} nodes")
        for flag, secs in (("--node-grace-period", self.node_grace_period),
                           ("--eviction-timeout", self.eviction_timeout)):
            if secs is not None and not secs > 0:
                raise SpecError(f"{flag} must be a positive number of seconds, not {secs}")
        if not self.prefix or not self.prefix.replace("-", "").isalnum():
            raise SpecError(f"prefix {self.prefix!r} must be letters, digits and dashes")
        longest = max([self.bridge, f"{self.prefix}-n{self.nodes}-h"], key=len)
        if len(longest) > IFNAMSIZ:
            raise SpecError(f"interface name {longest!r} is longer than {IFNAMSIZ} characters")

    @classmethod
    def named(cls, dir: Path, prefix: str = "cox", **kw: object) -> ClusterSpec:
        """A spec whose bridge, nftables table and run directory follow ``prefix``,
        so a second local cluster (a test's) can live beside the default one."""
        if prefix != "cox":
            kw.setdefault("bridge", f"{prefix}0")
            kw.setdefault("seal_table", f"{prefix}-seal")
            kw.setdefault("run_root", Path("/run") / prefix)
        return cls(dir=dir, prefix=prefix, **kw)  # type: ignore[arg-type]

    # ---- network -----------------------------------------------------------

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.subnet)

    @property
    def bridge_address(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def bridge_cidr(self) -> str:
        return f"{self.bridge_address}/{self.network.prefixlen}"

    @property
    def blackholes(self) -> tuple[str, ...]:
        """Host routes that make unrouted pod and service traffic die on the machine."""
        return (str(ipaddress.IPv4Network(self.cluster_cidr)),
                str(ipaddress.IPv4Network(self.service_cidr)))

    # ---- parts -------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def cluster_json(self) -> Path:
        return self.dir / "cluster.json"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def tokens_file(self) -> Path:
        return self.dir / "tokens.csv"

    @property
    def cluster_secret_file(self) -> Path:
        return self.dir / "cluster-secret"

    @property
    def pki_dir(self) -> Path:
        """The CA and the masters' serving certificates (``cox master init``)."""
        return self.dir / "pki"

    @property
    def ca_file(self) -> Path:
        return self.pki_dir / "ca.crt"

    @property
    def tls_hosts(self) -> list[str]:
        """Where masters are reached besides localhost: the bridge address, from
        the host and from every node's namespace, and the ``kubernetes`` Service
        (its cluster IP and names) from pods."""
        return [self.bridge_address, *apiservice.hosts(self.service_cidr)]

    @property
    def encryption_config_file(self) -> Path:
        return self.dir / "encryption-config.yaml"  # written by `cox master init`

    def master(self, i: int) -> MasterSpec:
        name = f"m{i}"
        return MasterSpec(index=i, name=name, api_host=self.bridge_address,
                          api_port=self.api_port_base + i - 1, raft_host=self.raft_host,
                          raft_port=self.raft_port_base + i - 1, data_dir=self.dir / name,
                          log=self.log_dir / f"{name}.log",
                          scheme="http" if self.insecure_http else "https")

    def node(self, i: int) -> NodeSpec:
        name = f"n{i}"
        return NodeSpec(index=i, name=name, netns=f"{self.prefix}-{name}",
                        veth_host=f"{self.prefix}-{name}-h",
                        address=str(self.network.network_address + 10 + i),
                        prefixlen=self.network.prefixlen, gateway=self.bridge_address,
                        data_dir=self.dir / name, run_dir=self.run_root / name,
                        token_file=self.dir / f"{name}.token",
                        dockerd_log=self.log_dir / f"{name}-dockerd.log",
                        agent_log=self.log_dir / f"{name}-agent.log")

    def all_masters(self) -> list[MasterSpec]:
        return [self.master(i) for i in self.master_indices or range(1, self.masters + 1)]

    def all_nodes(self) -> list[NodeSpec]:
        return [self.node(i) for i in range(1, self.nodes + 1)]

    @property
    def api_urls(self) -> list[str]:
        return [m.api_url for m in self.all_masters()]
