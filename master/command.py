"""``cox master``: ``init`` writes a cluster's credentials, ``run`` runs one master.

Loaded by the CLI through the ``coxswain.commands`` entry point. Secrets are
read from files only, never from argv.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from raftstore.config import check_addr


def _host_port(value: str, what: str) -> tuple[str, int]:
    try:
        return check_addr(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=what) from None


@click.group(context_settings={"auto_envvar_prefix": "COX_MASTER"})
def master() -> None:
    """Run and set up coxswain masters.

    Every option can also come from the environment: COX_MASTER_<COMMAND>_<OPTION>,
    e.g. COX_MASTER_RUN_LISTEN=10.250.0.1:6443 (flags win).
    """


@master.command()
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="Directory for cluster-secret, tokens.csv, <node>.token and kubeconfig.")
@click.option("--node", "nodes", multiple=True, help="Node name to issue a token for (repeatable).")
@click.option("--master-url", "master_urls", multiple=True,
              help="API URL of a master, for the kubeconfig (repeatable; first is the default).")
def init(directory: str, nodes: tuple[str, ...], master_urls: tuple[str, ...]) -> None:
    """Write the cluster secret, tokens and admin kubeconfig (keeps existing secrets)."""
    from .auth import init_cluster_dir

    result = init_cluster_dir(directory, nodes, master_urls)
    for path in result.created:
        click.echo(f"wrote {path}")
    if not result.created:
        click.echo(f"{directory}: up to date")


@master.command()
@click.option("--name", required=True, help="Name of this master (used in logs and /status/raft).")
@click.option("--listen", required=True, help="HOST:PORT for the API server.")
@click.option("--raft", "raft_addr", required=True, help="HOST:PORT of this Raft replica.")
@click.option("--peer", "peers", multiple=True, help="HOST:PORT of another replica (repeatable).")
@click.option("--data-dir", required=True, type=click.Path(file_okay=False))
@click.option("--token-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cluster-secret-file", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--cluster-cidr", default="10.244.0.0/16", show_default=True)
@click.option("--service-cidr", default="10.96.0.0/16", show_default=True)
@click.option("--node-grace-period", default=20.0, show_default=True, type=float,
              help="Seconds without a heartbeat before a node is NotReady.")
@click.option("--eviction-timeout", default=10.0, show_default=True, type=float,
              help="Seconds a node stays NotReady before its pods are evicted.")
@click.option("--threads", default=128, show_default=True, type=int,
              help="API server worker threads (each open watch holds one).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def run(name: str, listen: str, raft_addr: str, peers: tuple[str, ...], data_dir: str,
        token_file: str, cluster_secret_file: str, cluster_cidr: str, service_cidr: str,
        node_grace_period: float, eviction_timeout: float, threads: int, log_level: str) -> None:
    """Run one master: a store replica, the API server and (when leader) the controllers."""
    from .process import Master, MasterConfig

    host, port = _host_port(listen, "--listen")
    _host_port(raft_addr, "--raft")
    for p in peers:
        _host_port(p, "--peer")
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr,
        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    cfg = MasterConfig(name=name, listen_host=host, listen_port=port, raft_addr=raft_addr,
                       peers=list(peers), data_dir=data_dir, token_file=token_file,
                       cluster_secret_file=cluster_secret_file, cluster_cidr=cluster_cidr,
                       service_cidr=service_cidr, node_grace_period=node_grace_period,
                       eviction_timeout=eviction_timeout, threads=threads)
    done = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("received %s", signal.Signals(signum).name)
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    m = Master(cfg)
    try:
        m.start()
    except (OSError, ValueError) as e:
        logging.getLogger(__name__).error("cannot start: %s", e)
        m.stop()
        sys.exit(1)
    while not done.wait(1.0):
        pass
    m.stop()


if __name__ == "__main__":
    master()
