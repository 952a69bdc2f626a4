"""Command lines of the processes a local cluster runs (docs/contracts.md).

Pure. Secrets never appear here: masters and agents read them from files.
Processes that belong to a node are wrapped in ``nsenter --net=...``, which
joins only the node's network namespace (``ip netns exec`` would also remount
/sys and hide the cgroup mounts dockerd needs); nsenter then execs the program,
so the pid we start is the program's own pid.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from coxapi.pki import agent_cert_name

from .spec import ClusterSpec, MasterSpec, NodeSpec


def cox(*args: str) -> list[str]:
    """``cox ARGS`` through this interpreter, so a venv without PATH still works."""
    return [sys.executable, "-m", "cli.main", *args]


def in_netns(netns_path: str, argv: Sequence[str]) -> list[str]:
    return ["nsenter", f"--net={netns_path}", "--", *argv]


def program_argv(argv: Sequence[str]) -> list[str]:
    """What /proc/PID/cmdline shows for a process started with ``argv``
    (nsenter execs the program, so its own argv replaces nsenter's)."""
    if argv and argv[0] == "nsenter" and "--" in argv:
        return list(argv[list(argv).index("--") + 1:])
    return list(argv)


def master_init_argv(spec: ClusterSpec, urls: Sequence[str] | None = None) -> list[str]:
    """``urls``: the masters the kubeconfig lists, when not all of ``spec``'s
    (a master being added is listed once it is a member)."""
    argv = cox("master", "init", "--dir", str(spec.dir))
    for node in spec.all_nodes():
        argv += ["--node", node.name]
    for url in spec.api_urls if urls is None else urls:
        argv += ["--master-url", url]
    if not spec.insecure_http:
        for m in spec.all_masters():
            argv += ["--master-name", m.name]
        for host in spec.tls_hosts:
            argv += ["--tls-host", host]
        for node in spec.all_nodes():
            argv += ["--node-address", f"{node.name}={node.address}"]
    return argv


def _tls_argv(spec: ClusterSpec, m: MasterSpec) -> list[str]:
    if spec.insecure_http:
        return ["--insecure-http"]
    return ["--tls-cert-file", str(spec.pki_dir / f"{m.name}.crt"),
            "--tls-private-key-file", str(spec.pki_dir / f"{m.name}.key"),
            "--ca-file", str(spec.ca_file)]  # the agents' certificates chain to it


def _lifecycle_argv(spec: ClusterSpec) -> list[str]:
    argv: list[str] = []
    if spec.node_grace_period is not None:
        argv += ["--node-grace-period", str(spec.node_grace_period)]
    if spec.eviction_timeout is not None:
        argv += ["--eviction-timeout", str(spec.eviction_timeout)]
    return argv


def master_argv(spec: ClusterSpec, m: MasterSpec) -> list[str]:
    argv = cox("master", "run", "--name", m.name, "--listen", m.listen, "--raft", m.raft)
    for peer in spec.all_masters():
        if peer.name != m.name:
            argv += ["--peer", peer.raft]
    return argv + ["--data-dir", str(m.data_dir),
                   "--token-file", str(spec.tokens_file),
                   "--cluster-secret-file", str(spec.cluster_secret_file),
                   "--encryption-config-file", str(spec.encryption_config_file),
                   "--cluster-cidr", spec.cluster_cidr,
                   "--service-cidr", spec.service_cidr, *_tls_argv(spec, m),
                   *_lifecycle_argv(spec)]


def dockerd_argv(node: NodeSpec, dockerd: str = "dockerd") -> list[str]:
    """A node's own dockerd: its own state, socket and containerd; no bridge,
    iptables or masquerade of its own, because the agent owns pod networking."""
    return in_netns(str(node.netns_path), [
        dockerd,
        "--data-root", str(node.docker_data_root),
        "--exec-root", str(node.docker_exec_root),
        "-H", node.docker_host,
        "--pidfile", str(node.dockerd_pidfile),
        "--bridge=none", "--iptables=false", "--ip-masq=false", "--ip6tables=false",
        "--userland-proxy=false",
        "--containerd-namespace", node.netns,
        "--containerd-plugins-namespace", f"{node.netns}-plugins",
        "--cgroup-parent", node.cgroup_parent,
        "--shutdown-timeout", "5",
    ])


def agent_argv(spec: ClusterSpec, node: NodeSpec) -> list[str]:
    argv = cox("node", "run", "--name", node.name)
    for url in spec.api_urls:
        argv += ["--master", url]
    if not spec.insecure_http:
        cert = spec.pki_dir / agent_cert_name(node.name)
        argv += ["--ca-file", str(spec.ca_file), "--tls-cert-file", f"{cert}.crt",
                 "--tls-private-key-file", f"{cert}.key"]
    argv += ["--token-file", str(node.token_file), "--address", node.address,
             "--docker-host", node.docker_host, "--port", str(spec.agent_port),
             "--data-dir", str(node.data_dir), "--cluster-cidr", spec.cluster_cidr]
    return in_netns(str(node.netns_path), argv)


def master_add_argv(spec: ClusterSpec, m: MasterSpec) -> list[str]:
    """Make the running master ``m`` a Raft member (docs/membership.md): the
    command the Vagrant procedure runs too."""
    return cox("--kubeconfig", str(spec.kubeconfig), "master", "add",
               "--address", m.raft, "--api", m.api_url)


def master_remove_argv(spec: ClusterSpec, m: MasterSpec) -> list[str]:
    """Drop ``m`` from the Raft members, by Raft address (it may be dead)."""
    return cox("--kubeconfig", str(spec.kubeconfig), "master", "remove", m.raft)
