"""``DIR/cluster.json``: what ``cox cluster up`` started, so that ``up`` again
can tell what is already running and ``down`` can stop it by pid.

Pure (de)serialisation; the shape is pinned in docs/contracts.md. The
``network`` section is a coxswain extension that records the names ``down``
must remove even when the spec it was created with is no longer at hand.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .spec import ClusterSpec


class StateError(ValueError):
    """cluster.json exists but cannot be read as a cluster description."""


@dataclass
class MasterRecord:
    name: str
    api: str
    raft: str
    pid: int | None
    argv: list[str]


@dataclass
class NodeRecord:
    name: str
    address: str
    netns: str
    pids: dict[str, int | None] = field(default_factory=dict)  # "dockerd", "agent"
    argv: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class NetworkRecord:
    prefix: str
    bridge: str
    subnet: str
    seal_table: str
    blackholes: list[str]
    run_root: str
    cluster_cidr: str
    service_cidr: str
    api_port_base: int = 6443
    raft_port_base: int = 7001
    insecure_http: bool = False


@dataclass
class ClusterState:
    masters: list[MasterRecord]
    nodes: list[NodeRecord]
    image: str
    kubeconfig: str
    network: NetworkRecord

    @classmethod
    def empty(cls, spec: ClusterSpec) -> ClusterState:
        return cls(masters=[], nodes=[], image=spec.image, kubeconfig=str(spec.kubeconfig),
                   network=NetworkRecord(prefix=spec.prefix, bridge=spec.bridge,
                                         subnet=spec.subnet, seal_table=spec.seal_table,
                                         blackholes=list(spec.blackholes),
                                         run_root=str(spec.run_root),
                                         cluster_cidr=spec.cluster_cidr,
                                         service_cidr=spec.service_cidr,
                                         api_port_base=spec.api_port_base,
                                         raft_port_base=spec.raft_port_base,
                                         insecure_http=spec.insecure_http))

    def master(self, name: str) -> MasterRecord | None:
        return next((m for m in self.masters if m.name == name), None)

    def node(self, name: str) -> NodeRecord | None:
        return next((n for n in self.nodes if n.name == name), None)

    def set_master(self, rec: MasterRecord) -> None:
        self.masters = [m for m in self.masters if m.name != rec.name] + [rec]
        self.masters.sort(key=lambda m: _index(m.name))

    def set_node(self, rec: NodeRecord) -> None:
        self.nodes = [n for n in self.nodes if n.name != rec.name] + [rec]
        self.nodes.sort(key=lambda n: _index(n.name))

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> ClusterState:
        try:
            return cls(masters=[MasterRecord(**m) for m in data["masters"]],
                       nodes=[NodeRecord(**n) for n in data["nodes"]],
                       image=data["image"], kubeconfig=data["kubeconfig"],
                       network=NetworkRecord(**data["network"]))
        except (KeyError, TypeError) as e:
            raise StateError(f"not a cluster description: {e}") from None

    def spec(self, dir: Path) -> ClusterSpec:
        """The spec this state was created from (counts from the records)."""
        n = self.network
        indices = tuple(sorted(_index(m.name) for m in self.masters))
        return ClusterSpec(dir=dir, masters=max(len(self.masters), 1), nodes=len(self.nodes),
                           master_indices=indices if indices != tuple(range(1, len(indices) + 1))
                           else (),
                           prefix=n.prefix, bridge=n.bridge, subnet=n.subnet,
                           run_root=Path(n.run_root), cluster_cidr=n.cluster_cidr,
                           service_cidr=n.service_cidr, seal_table=n.seal_table,
                           api_port_base=n.api_port_base, raft_port_base=n.raft_port_base,
                           image=self.image, insecure_http=n.insecure_http)


def _index(name: str) -> int:
    digits = name.lstrip("mn")
    return int(digits) if digits.isdigit() else 0


def load(path: Path) -> ClusterState | None:
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise StateError(f"cannot read {path}: {e}") from None
    return ClusterState.from_json(data)


def save(path: Path, state: ClusterState) -> None:
    """Write atomically, so a crash never leaves half a file for ``down`` to choke on."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(state.to_json(), f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
