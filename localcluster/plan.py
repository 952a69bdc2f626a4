"""What ``up`` must create and ``down`` must remove, given what exists.

Pure: the observed state comes in as a value, the answer goes out as an
ordered list of steps, and ``machinery.py`` carries them out. Running ``up``
on a cluster that is fully up plans only the steps that are idempotent by
nature (init, node network configuration, image check, readiness wait);
``down`` plans the removal of exactly what was observed.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import ClusterSpec


@dataclass(frozen=True)
class Observed:
    links: frozenset[str] = frozenset()  # interface names in the host namespace
    netns: frozenset[str] = frozenset()  # names under /run/netns
    blackholes: frozenset[str] = frozenset()  # blackhole route destinations in the host
    tables: frozenset[str] = frozenset()  # inet nftables tables in the host
    forward_allowed: bool = False  # the host firewall lets bridge-to-bridge traffic pass
    forward_filter: bool = False  # the host has a filter (Docker's) that needs that allowance
    live: frozenset[str] = frozenset()  # "master/m1", "dockerd/n1", "agent/n1" alive as recorded
    bridge_owner: str | None = None  # the cluster dir the bridge's alias names, if any


@dataclass(frozen=True)
class Step:
    action: str
    target: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.target}".strip()


def owner_tag(spec: ClusterSpec) -> str:
    """What the bridge's alias says, so another cluster's up or down knows it is not theirs."""
    return f"coxswain {spec.dir}"


def conflict(spec: ClusterSpec, seen: Observed) -> str | None:
    """Why this cluster must not touch what it sees, or None. Two clusters with
    the same prefix would share (and tear down) one bridge, table and routes."""
    if (spec.bridge in seen.links and seen.bridge_owner
            and seen.bridge_owner != owner_tag(spec)):
        other = seen.bridge_owner.removeprefix("coxswain ")
        return (f"bridge {spec.bridge} belongs to the cluster in {other}; use that --dir, "
                "or another --prefix for a second cluster")
    return None


def plan_network_up(spec: ClusterSpec, seen: Observed) -> list[Step]:
    steps: list[Step] = []
    if spec.bridge not in seen.links:
        steps.append(Step("create-bridge", spec.bridge))
    steps.append(Step("configure-bridge", spec.bridge))
    # A new bridge needs a new seal: its ingress chain is bound to the device.
    if spec.seal_table not in seen.tables or spec.bridge not in seen.links:
        steps.append(Step("create-seal", spec.seal_table))
    steps += [Step("add-blackhole", c) for c in spec.blackholes if c not in seen.blackholes]
    if seen.forward_filter and not seen.forward_allowed:
        steps.append(Step("allow-bridge-forward", spec.bridge))
    return steps


def plan_nodes_network_up(spec: ClusterSpec, seen: Observed) -> list[Step]:
    steps: list[Step] = []
    for node in spec.all_nodes():
        if node.netns not in seen.netns:
            steps.append(Step("create-netns", node.name))
        if node.veth_host not in seen.links:
            steps.append(Step("create-veth", node.name))
        steps.append(Step("configure-node", node.name))
    return steps


def plan_dockerds_up(spec: ClusterSpec, seen: Observed) -> list[Step]:
    """Start every missing dockerd before waiting on any: they come up in parallel."""
    nodes = spec.all_nodes()
    return ([Step("start-dockerd", n.name) for n in nodes if f"dockerd/{n.name}" not in seen.live]
            + [Step("wait-dockerd", n.name) for n in nodes])


def plan_masters_up(spec: ClusterSpec, seen: Observed) -> list[Step]:
    steps = [Step("master-init")]
    steps += [Step("start-master", m.name) for m in spec.all_masters()
              if f"master/{m.name}" not in seen.live]
    return steps


def plan_agents_up(spec: ClusterSpec, seen: Observed) -> list[Step]:
    return [Step("start-agent", n.name) for n in spec.all_nodes()
            if f"agent/{n.name}" not in seen.live]


def plan_up(spec: ClusterSpec, seen: Observed, *, with_control_plane: bool = True) -> list[Step]:
    """The whole bring-up in dependency order: the host network first (the
    masters listen on the bridge address), then masters, node namespaces,
    dockerds, the demo image, agents, and the wait for Ready nodes."""
    steps = plan_network_up(spec, seen)
    if with_control_plane:
        steps += plan_masters_up(spec, seen)
    steps += plan_nodes_network_up(spec, seen)
    steps += plan_dockerds_up(spec, seen)
    steps.append(Step("load-image", spec.image))
    if with_control_plane:
        steps += plan_agents_up(spec, seen)
        steps.append(Step("wait-ready"))
    return steps


def plan_down(spec: ClusterSpec, seen: Observed, *, recorded: bool = True) -> list[Step]:
    """Stop what runs (agents before their dockerd, masters last so agents do
    not flap against a dying API), then remove kernel objects and state.

    Blackhole routes carry no cluster's name; without a cluster.json
    (``recorded=False``) they are removed only along with this cluster's own
    bridge, so a ``down`` for a cluster that is gone never takes another
    cluster's routes."""
    steps: list[Step] = []
    nodes = spec.all_nodes()
    steps += [Step("stop-agent", n.name) for n in nodes if f"agent/{n.name}" in seen.live]
    steps += [Step("stop-dockerd", n.name) for n in nodes if f"dockerd/{n.name}" in seen.live]
    steps += [Step("reap-docker", n.name) for n in nodes]
    steps += [Step("stop-master", m.name) for m in spec.all_masters()
              if f"master/{m.name}" in seen.live]
    # The host end of each veth goes first and explicitly: a namespace is
    # destroyed by the kernel asynchronously once its last user is gone, and
    # its veth pair lingers in the host until then (seen in CI as a leftover
    # link right after ``down``). Deleting one end removes both at once.
    steps += [Step("delete-link", n.veth_host) for n in nodes if n.veth_host in seen.links]
    steps += [Step("delete-netns", n.name) for n in nodes if n.netns in seen.netns]
    if spec.bridge in seen.links:
        steps.append(Step("delete-link", spec.bridge))
    if spec.seal_table in seen.tables:
        steps.append(Step("delete-seal", spec.seal_table))
    if recorded or spec.bridge in seen.links:
        steps += [Step("delete-blackhole", c) for c in spec.blackholes if c in seen.blackholes]
    if seen.forward_allowed:
        steps.append(Step("disallow-bridge-forward", spec.bridge))
    steps.append(Step("remove-state"))
    return steps
