"""``cox cluster up`` / ``cox cluster down``: a whole cluster on this machine.

Registered in cli/main.py as ``cli.commands.cluster:cluster``; other
subcommands (``status``) may be added to this group by the CLI. The host
plumbing behind it is the ``localcluster`` package.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from localcluster.dockerd import DockerdError
from localcluster.hostnet import NetworkError
from localcluster.image import ImageError
from localcluster.machinery import ClusterError, LocalCluster, load_spec
from localcluster.spec import ClusterSpec, SpecError
from localcluster.state import StateError

FAILURES = (ClusterError, SpecError, StateError, NetworkError, DockerdError, ImageError)


def _say(msg: str) -> None:
    click.echo(f"==> {msg}", err=True)


def _need_root(what: str) -> None:
    if os.geteuid() != 0:
        raise click.ClickException(
            f"cox cluster {what} needs root (network namespaces, nftables, dockerd)")


@click.group()
def cluster() -> None:
    """Run a whole cluster on this machine: 3 masters and N nodes, each node in
    its own network namespace with its own dockerd."""


@cluster.command()
@click.option("--masters", default=3, show_default=True, type=click.IntRange(1, 7),
              help="Number of master replicas (Raft members).")
@click.option("--nodes", default=2, show_default=True, type=click.IntRange(0, 50),
              help="Number of nodes, each in its own network namespace.")
@click.option("--dir", "dir_", default="./.cluster", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the cluster keeps its state, secrets and logs.")
@click.option("--timeout", default=180, show_default=True, type=click.IntRange(1),
              help="Seconds to wait for the API and for every node to be Ready.")
@click.option("--prefix", default="cox", show_default=True,
              help="Names of namespaces (PREFIX-n1), bridge (PREFIX0), nftables table "
                   "and /run directory; a second cluster on the machine needs its own.")
@click.option("--subnet", default="10.250.0.0/24", show_default=True,
              help="Bridge subnet: the bridge (and APIs) at .1, node K at .(10+K).")
@click.option("--cluster-cidr", default=ClusterSpec.cluster_cidr, show_default=True,
              help="Pod addresses (one /24 per node).")
@click.option("--service-cidr", default=ClusterSpec.service_cidr, show_default=True,
              help="ClusterIP addresses.")
@click.option("--api-port", default=6443, show_default=True, type=click.IntRange(1, 65535),
              help="API port of the first master; the others follow. Keep these ports "
                   "out of net.ipv4.ip_local_port_range: an outgoing connection may "
                   "take one as its source port first.")
@click.option("--raft-port", default=7001, show_default=True, type=click.IntRange(1, 65535),
              help="Raft port (on 127.0.0.1) of the first master; the others follow "
                   "(out of the ephemeral port range, as --api-port).")
@click.option("--insecure-http", is_flag=True,
              help="Masters serve plain HTTP, without certificates: tokens cross the "
                   "network in clear. For tests that need it.")
@click.option("--node-grace-period", type=click.FloatRange(min=0, min_open=True),
              help="Seconds without a heartbeat before the masters mark a node NotReady "
                   "(the masters' default when not given).")
@click.option("--eviction-timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds a node stays unreachable before the masters evict its pods "
                   "(the masters' default when not given).")
def up(masters: int, nodes: int, dir_: Path, timeout: int, prefix: str, subnet: str,
       cluster_cidr: str, service_cidr: str, api_port: int, raft_port: int,
       insecure_http: bool, node_grace_period: float | None,
       eviction_timeout: float | None) -> None:
    """Bring the cluster up (safe to run again: what runs is kept)."""
    _need_root("up")
    t0 = time.monotonic()
    try:
        spec = ClusterSpec.named(dir_.resolve(), prefix, masters=masters, nodes=nodes,
                                 subnet=subnet, cluster_cidr=cluster_cidr,
                                 service_cidr=service_cidr, api_port_base=api_port,
                                 raft_port_base=raft_port, insecure_http=insecure_http,
                                 node_grace_period=node_grace_period,
                                 eviction_timeout=eviction_timeout)
    except SpecError as e:
        raise click.UsageError(str(e)) from None
    try:
        LocalCluster(spec, say=_say, ready_timeout=timeout).up()
    except FAILURES as e:
        raise click.ClickException(f"{e}\n(`cox cluster down --dir {dir_}` removes what was "
                                   "started)") from None
    except KeyboardInterrupt:
        raise click.ClickException(f"interrupted; `cox cluster down --dir {dir_}` removes "
                                   "what was started") from None
    click.echo(f"cluster up in {time.monotonic() - t0:.1f}s: {masters} masters, {nodes} nodes")
    click.echo(f"export KUBECONFIG={spec.kubeconfig}")


@cluster.command()
@click.option("--dir", "dir_", default="./.cluster", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The directory given to `cox cluster up`.")
@click.option("--prefix", default="cox", show_default=True,
              help="The names to remove when DIR/cluster.json is gone (as given to `up`).")
def down(dir_: Path, prefix: str) -> None:
    """Stop everything `up` started and remove what it created (logs stay)."""
    _need_root("down")
    dir_ = dir_.resolve()
    try:
        spec = load_spec(dir_, ClusterSpec.named(dir_, prefix))
        LocalCluster(spec, say=_say).down()
    except FAILURES as e:
        raise click.ClickException(str(e)) from None
    click.echo("cluster down")


@cluster.command("add-master")
@click.option("--dir", "dir_", default="./.cluster", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The directory given to `cox cluster up`.")
def add_master_command(dir_: Path) -> None:
    """Start one more master and make it a Raft member (docs/membership.md):
    certificate, sealed Raft port, `cox master add`, kubeconfig."""
    from localcluster.masters import add_master

    _need_root("add-master")
    dir_ = dir_.resolve()
    try:
        m = add_master(LocalCluster(load_spec(dir_, ClusterSpec.named(dir_)), say=_say))
    except FAILURES as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"master {m.name} added: API {m.api_url}, Raft {m.raft}")


@cluster.command("remove-master")
@click.argument("name")
@click.option("--dir", "dir_", default="./.cluster", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The directory given to `cox cluster up`.")
def remove_master_command(name: str, dir_: Path) -> None:
    """Remove master NAME (m2) from the Raft members, stop it and delete its data
    (also for a dead master: replace it with `add-master` afterwards)."""
    from localcluster.masters import remove_master

    _need_root("remove-master")
    dir_ = dir_.resolve()
    try:
        remove_master(LocalCluster(load_spec(dir_, ClusterSpec.named(dir_)), say=_say), name)
    except FAILURES as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"master {name} removed")
