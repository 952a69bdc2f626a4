"""Carrying out the plans of ``plan.py`` on this machine.

``LocalCluster.up`` observes, plans and executes step by step, recording every
process it starts in DIR/cluster.json at once, so a bring-up that fails half
way can still be taken down. ``down`` reads cluster.json (or, without it,
falls back to the spec's names) and removes what it observes.
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import replace
from pathlib import Path

from coxapi import private

from . import dockerd, hostnet, image, procs, readiness, seal
from . import state as state_mod
from .argv import agent_argv, master_argv, master_init_argv
from .plan import Observed, Step, conflict, owner_tag, plan_down, plan_up
from .spec import ClusterSpec
from .state import ClusterState, MasterRecord, NodeRecord


class ClusterError(RuntimeError):
    """A step of ``up`` or ``down`` failed; the message says which and why."""


Say = Callable[[str], None]
CONCURRENT = frozenset({"stop-agent", "stop-dockerd", "stop-master", "reap-docker"})


class LocalCluster:
    def __init__(self, spec: ClusterSpec, say: Say = lambda _msg: None,
                 ready_timeout: float = 120.0) -> None:
        self.spec = spec
        self.say = say
        self.ready_timeout = ready_timeout
        loaded = state_mod.load(spec.cluster_json)
        self.recorded = loaded is not None  # a cluster.json names what is ours
        self.state = loaded or ClusterState.empty(spec)
        self.timings: dict[str, float] = {}
        self._started: dict[str, float] = {}  # node -> when its dockerd was started

    # ---- observation ---------------------------------------------------------

    def observe(self) -> Observed:
        live = set()
        for m in self.state.masters:
            pid = procs.master_pid(m.pid, m.argv, self.spec.master(_index(m.name)).data_dir)
            if pid is not None:
                m.pid = pid  # what `down` stops
                live.add(f"master/{m.name}")
        for n in self.state.nodes:
            for role in ("dockerd", "agent"):
                if procs.matches(n.pids.get(role), n.argv.get(role, [])):
                    live.add(f"{role}/{n.name}")
        return Observed(links=frozenset(hostnet.host_links()),
                        netns=frozenset(hostnet.namespaces()),
                        blackholes=frozenset(hostnet.blackholes()),
                        tables=frozenset(seal.tables()),
                        forward_filter=hostnet.forward_filter_present(),
                        forward_allowed=hostnet.forward_allowed(self.spec.bridge),
                        live=frozenset(live),
                        bridge_owner=hostnet.link_alias(self.spec.bridge))

    def _observe(self) -> Observed:
        try:
            seen = self.observe()
        except Exception as e:  # noqa: BLE001 - reported as one line
            raise ClusterError(f"cannot read this machine's network and processes: {e}") from e
        problem = conflict(self.spec, seen)
        if problem:
            raise ClusterError(problem)
        return seen

    # ---- up / down -------------------------------------------------------------

    def up(self, *, with_control_plane: bool = True) -> None:
        self._check_shape()
        steps = plan_up(self.spec, self._observe(), with_control_plane=with_control_plane)
        self._save()
        self._run_all(steps)
        self._save()

    def down(self) -> None:
        self._run_all(plan_down(self.spec, self._observe(), recorded=self.recorded))

    # ---- steps --------------------------------------------------------------------

    def _run_all(self, steps: list[Step]) -> None:
        """Run steps in order; a run of stops of one kind (independent processes,
        each waiting out its own grace period) goes concurrently."""
        for action, group in itertools.groupby(steps, key=lambda s: s.action):
            batch = list(group)
            if action in CONCURRENT and len(batch) > 1:
                with ThreadPoolExecutor(max_workers=len(batch)) as pool:
                    for f in [pool.submit(self._run, step) for step in batch]:
                        f.result()
            else:
                for step in batch:
                    self._run(step)

    def _run(self, step: Step) -> None:
        handler = getattr(self, "_" + step.action.replace("-", "_"))
        t0 = time.monotonic()
        try:
            handler(step.target)
        except ClusterError:
            raise
        except Exception as e:  # noqa: BLE001 - one line naming the step beats a traceback
            raise ClusterError(f"{step}: {e}") from e
        self.timings[str(step)] = time.monotonic() - t0

    # network

    def _create_bridge(self, _target: str) -> None:
        self.say(f"creating bridge {self.spec.bridge} ({self.spec.bridge_cidr})")
        hostnet.ensure_bridge(self.spec, owner_tag(self.spec))

    def _configure_bridge(self, _target: str) -> None:
        hostnet.ensure_bridge(self.spec, owner_tag(self.spec))

    def _create_seal(self, _target: str) -> None:
        self.say(f"sealing: nftables table {self.spec.seal_table}")
        seal.create(self.spec)

    def _add_blackhole(self, cidr: str) -> None:
        self.say(f"blackhole route {cidr}")
        hostnet.add_blackhole(cidr)

    def _allow_bridge_forward(self, bridge: str) -> None:
        self.say(f"letting {bridge}-to-{bridge} traffic through the host's DOCKER-USER chain")
        hostnet.allow_forward(bridge)

    def _create_netns(self, name: str) -> None:
        node = self.spec.node(_index(name))
        self.say(f"namespace {node.netns}")
        hostnet.ensure_netns(node)

    def _create_veth(self, name: str) -> None:
        hostnet.ensure_veth(self.spec, self.spec.node(_index(name)))

    def _configure_node(self, name: str) -> None:
        hostnet.configure_node(self.spec, self.spec.node(_index(name)))

    # masters

    def _master_init(self, _target: str) -> None:
        private.private_dir(self.spec.dir)
        argv = master_init_argv(self.spec)
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ClusterError("cox master init failed: "
                               + (done.stderr.strip() or done.stdout.strip() or "no output"))
        for node in self.spec.all_nodes():
            ensure_node_token(self.spec.tokens_file, node.name, node.token_file)

    def _start_master(self, name: str) -> None:
        m = self.spec.master(_index(name))
        private.private_dir(m.data_dir)
        argv = master_argv(self.spec, m)
        pid = procs.start(argv, m.log)
        self.say(f"master {m.name}: pid {pid}, API {m.api_url}, Raft {m.raft} (log {m.log})")
        self.state.set_master(MasterRecord(name=m.name, api=m.api_url, raft=m.raft, pid=pid,
                                           argv=argv))
        self._save()

    # nodes

    def _start_dockerd(self, name: str) -> None:
        node = self.spec.node(_index(name))
        # A dockerd that died (a node that went down) may have left shims, container
        # processes and mounts; its containers and images stay, as after a reboot.
        dockerd.reap(node, keep_data=True)
        pid, argv = dockerd.start(node)
        rec = self._node_record(name)
        rec.pids["dockerd"], rec.argv["dockerd"] = pid, argv
        self._save()
        self._started[name] = time.monotonic()

    def _wait_dockerd(self, name: str) -> None:
        node = self.spec.node(_index(name))
        pid = self._node_record(name).pids["dockerd"]
        assert pid
        dockerd.wait_ready(node, pid)
        if name in self._started:
            took = time.monotonic() - self._started.pop(name)
            self.timings[f"dockerd-ready {name}"] = took
            self.say(f"node {name}: dockerd pid {pid} answered {took:.1f}s after its start "
                     f"({node.docker_host})")

    def _load_image(self, tag: str) -> None:
        nodes = self.spec.all_nodes()
        if not nodes:
            return
        clients = [dockerd.client(n, timeout=120) for n in nodes]
        try:
            done = image.ensure(clients, tag)
        finally:
            for c in clients:
                c.close()
        for n, what in zip(nodes, done, strict=True):
            if what != "present":
                self.say(f"node {n.name}: image {tag} {what}")
            # Proof the node can run pods before its agent is given any.
            t0 = time.monotonic()
            got = dockerd.run_probe(n, tag)
            if got != f"probe-{n.name}":
                raise ClusterError(f"node {n.name}: a test container of {tag} said {got!r}")
            self.timings[f"probe {n.name}"] = time.monotonic() - t0
        self.state.image = tag

    def _start_agent(self, name: str) -> None:
        node = self.spec.node(_index(name))
        private.private_dir(node.data_dir)
        argv = agent_argv(self.spec, node)
        pid = procs.start(argv, node.agent_log)
        rec = self._node_record(name)
        rec.pids["agent"], rec.argv["agent"] = pid, argv
        self._save()
        self.say(f"node {name}: agent pid {pid} in {node.netns} (log {node.agent_log})")

    def _wait_ready(self, _target: str) -> None:
        token = readiness.admin_token(self.spec.kubeconfig)
        self.say("waiting for the API and the nodes")
        try:
            readiness.wait(self.spec.api_urls, token, [n.name for n in self.spec.all_nodes()],
                           self.ready_timeout, self.say, alive=self._dead_process,
                           ca_file=None if self.spec.insecure_http else str(self.spec.ca_file))
        except readiness.NotReady as e:
            raise ClusterError(str(e)) from None

    def _dead_process(self) -> str | None:
        for m in self.state.masters:
            if not procs.matches(m.pid, m.argv):
                return f"master {m.name} exited; see {self.spec.master(_index(m.name)).log}"
        for n in self.state.nodes:
            if not procs.matches(n.pids.get("agent"), n.argv.get("agent", [])):
                return f"agent of {n.name} exited; see {self.spec.node(_index(n.name)).agent_log}"
        return None

    # down

    def _stop_agent(self, name: str) -> None:
        rec = self._node_record(name)
        pid = rec.pids.get("agent")
        assert pid is not None, "planned only for a running agent"
        self.say(f"stopping agent of {name} (pid {pid})")
        procs.stop(pid)
        rec.pids["agent"] = None

    def _stop_dockerd(self, name: str) -> None:
        rec = self._node_record(name)
        pid = rec.pids.get("dockerd")
        assert pid is not None, "planned only for a running dockerd"
        self.say(f"stopping dockerd of {name} (pid {pid})")
        procs.stop(pid, timeout=20)
        rec.pids["dockerd"] = None

    def _reap_docker(self, name: str) -> None:
        dockerd.reap(self.spec.node(_index(name)))

    def _stop_master(self, name: str) -> None:
        rec = self.state.master(name)
        assert rec is not None and rec.pid
        self.say(f"stopping master {name} (pid {rec.pid})")
        procs.stop(rec.pid)
        rec.pid = None

    def _delete_netns(self, name: str) -> None:
        node = self.spec.node(_index(name))
        self.say(f"removing namespace {node.netns}")
        users = hostnet.netns_users(node.netns)
        if users:
            # Not started by down's records, so not ended by it either.
            self.say(f"warning: pids {', '.join(map(str, users))} still run in {node.netns};"
                     " it goes away when they exit")
        hostnet.delete_netns(node)

    def _delete_link(self, ifname: str) -> None:
        self.say(f"removing link {ifname}")
        hostnet.delete_link(ifname)

    def _delete_seal(self, table: str) -> None:
        self.say(f"removing nftables table {table}")
        seal.delete(table)

    def _delete_blackhole(self, cidr: str) -> None:
        self.say(f"removing blackhole route {cidr}")
        hostnet.delete_blackhole(cidr)

    def _disallow_bridge_forward(self, bridge: str) -> None:
        hostnet.disallow_forward(bridge)

    def _remove_state(self, _target: str) -> None:
        """Remove what up created under DIR and the run directories; the logs stay."""
        spec = self.spec
        paths: list[Path] = [spec.cluster_json, spec.kubeconfig, spec.tokens_file,
                             spec.cluster_secret_file, spec.pki_dir]
        paths += [m.data_dir for m in spec.all_masters()]
        for n in spec.all_nodes():
            paths += [n.data_dir, n.run_dir, n.token_file]
            if n.data_dir.is_dir():
                dockerd.unmount_under(n.data_dir)  # pods' tmpfs volumes (secrets, Memory)
        for p in paths:
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=False)
            else:
                p.unlink(missing_ok=True)
        with suppress(OSError):
            spec.run_root.rmdir()  # only if no other cluster uses it

    # ---- helpers ----------------------------------------------------------------

    def _node_record(self, name: str) -> NodeRecord:
        rec = self.state.node(name)
        if rec is None:
            node = self.spec.node(_index(name))
            rec = NodeRecord(name=name, address=node.address, netns=node.netns)
            self.state.set_node(rec)
        return rec

    def _check_shape(self) -> None:
        have_m, have_n = len(self.state.masters), len(self.state.nodes)
        if self.recorded and have_m == self.spec.masters and not self.spec.master_indices:
            # masters added and removed at run time: up again keeps those
            self.spec = replace(self.spec, master_indices=self.state.spec(
                self.spec.dir).master_indices)
        if (have_m and have_m != self.spec.masters) or (have_n and have_n > self.spec.nodes):
            raise ClusterError(
                f"the cluster in {self.spec.dir} has {have_m} masters and {have_n} nodes; "
                "run `cox cluster down` first to change its shape")

    def _save(self) -> None:
        state_mod.save(self.spec.cluster_json, self.state)

    def save(self) -> None:
        """Write cluster.json now (localcluster/masters.py changes the masters)."""
        self._save()


def ensure_node_token(tokens_csv: Path, node: str, token_file: Path) -> None:
    """Give the agent its own token file if ``cox master init`` did not:
    the row of tokens.csv whose user is ``system:node:<node>``."""
    if token_file.exists():
        return
    try:
        with open(tokens_csv, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise ClusterError(f"cannot read {tokens_csv}: {e}") from None
    token = next((r[0] for r in rows if len(r) > 1 and r[1] == f"system:node:{node}"), None)
    if not token:
        raise ClusterError(f"{tokens_csv} has no token for node {node}")
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


def _index(name: str) -> int:
    return int(name[1:])


def load_spec(dir: Path, default: ClusterSpec) -> ClusterSpec:
    """The spec recorded in DIR/cluster.json, or ``default`` when there is none."""
    st = state_mod.load(dir / "cluster.json")
    return st.spec(dir) if st else default
