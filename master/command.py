"""``cox master``: ``init`` writes a cluster's credentials, ``run`` runs one master.

Loaded by the CLI through the ``coxswain.commands`` entry point. Secrets are
read from files only, never from argv.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

import click

from coxapi.config import ConfigError, default_of, load, settings, shown
from raftstore.config import check_addr

from .config import ENV_PREFIX, MasterConfig


def _host_port(value: str, what: str) -> tuple[str, int]:
    try:
        return check_addr(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint=what) from None


@click.group()
def master() -> None:
    """Run and set up coxswain masters."""


@master.command()
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False),
              help="Directory for cluster-secret, tokens.csv, <node>.token and kubeconfig.")
@click.option("--node", "nodes", multiple=True, help="Node name to issue a token for (repeatable).")
@click.option("--master-url", "master_urls", multiple=True,
              help="API URL of a master, for the kubeconfig (repeatable; first is the default).")
@click.option("--master-name", "masters", multiple=True,
              help="Master to issue a serving certificate for, DIR/pki/NAME.crt (repeatable).")
@click.option("--tls-host", "tls_hosts", multiple=True,
              help="Address or DNS name those masters are reached at, besides their name, "
                   "localhost and 127.0.0.1 (repeatable).")
@click.option("--node-address", "node_addresses", multiple=True, metavar="NAME=ADDRESS",
              help="Issue node NAME's agent a serving certificate for ADDRESS, "
                   "DIR/pki/node-NAME.crt (repeatable).")
def init(directory: str, nodes: tuple[str, ...], master_urls: tuple[str, ...],
         masters: tuple[str, ...], tls_hosts: tuple[str, ...],
         node_addresses: tuple[str, ...]) -> None:
    """Write the cluster secret, tokens, CA, serving certificates and admin
    kubeconfig (keeps what exists and is still good)."""
    from .auth import init_cluster_dir

    agents: dict[str, list[str]] = {}
    for item in node_addresses:
        name, _, address = item.partition("=")
        if not name or not address:
            raise click.BadParameter(f"{item!r} is not NAME=ADDRESS", param_hint="--node-address")
        agents.setdefault(name, []).append(address)
    result = init_cluster_dir(directory, nodes, master_urls, masters, tls_hosts, agents)
    for path in result.created:
        click.echo(f"wrote {path}")
    if not result.created:
        click.echo(f"{directory}: up to date")


@master.command("rotate-key")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The EncryptionConfiguration (DIR/encryption-config.yaml).")
@click.argument("step", type=click.Choice(["add", "promote", "prune"]))
def rotate_key(path: str, step: str) -> None:
    """One step of an encryption key rotation; restart every master after each
    (docs/security.md): add, restart; promote, restart; `cox secrets
    reencrypt`; prune, restart."""
    from .encryption import EncryptionConfigError, rotate

    try:
        click.echo(rotate(path, step))
    except EncryptionConfigError as e:
        raise click.UsageError(str(e)) from None


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _default(key: str) -> str:
    default = default_of(MasterConfig, key)
    return "" if default is None else f"[default: {shown(default)}]"


# Every flag defaults to None (not given), so it overrides the config file and
# the environment only when it is on the command line. Flags are named as
# their setting, except these; every raft.* setting has a --raft-<name> flag.
RAFT_FLAGS = {f"raft_{key[5:]}": key for key in settings(MasterConfig) if key.startswith("raft.")}
FLAG_KEYS = {"cluster_cidr": "controllers.cluster_cidr",
             "service_cidr": "controllers.service_cidr",
             "node_grace_period": "controllers.node_grace_period",
             "eviction_timeout": "controllers.eviction_timeout", **RAFT_FLAGS}


def _raft_options(command: Callable[..., None]) -> Callable[..., None]:
    for param, key in sorted(RAFT_FLAGS.items(), reverse=True):
        typ = settings(MasterConfig)[key]
        flag = "--" + param.replace("_", "-")
        help_ = f"{key} {_default(key)}"
        if typ is bool:
            command = click.option(f"{flag}/--no-{flag[2:]}", param, default=None,
                                   help=help_)(command)
        else:
            click_type = typ if typ in (int, float) else str
            command = click.option(flag, param, default=None, type=click_type,
                                   help=help_)(command)
    return command


@master.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML file of settings (docs/config.md); the environment "
                   "(COX_MASTER_<KEY>, e.g. COX_MASTER_RAFT_FSYNC) and flags override it.")
@click.option("--name", help="Name of this master (used in logs and /status/raft).")
@click.option("--listen", help="HOST:PORT for the API server.")
@click.option("--raft", "raft_addr", help="HOST:PORT of this Raft replica.")
@click.option("--peer", "peers", multiple=True, help="HOST:PORT of another replica (repeatable).")
@click.option("--data-dir", type=click.Path(file_okay=False))
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--cluster-secret-file", type=click.Path(exists=True, dir_okay=False))
@click.option("--tls-cert-file", type=click.Path(exists=True, dir_okay=False),
              help="The API server's certificate (PEM; `cox master init --master-name` "
                   "writes DIR/pki/NAME.crt).")
@click.option("--tls-private-key-file", type=click.Path(exists=True, dir_okay=False),
              help="Its private key.")
@click.option("--insecure-http", is_flag=True, default=None,
              help="Serve plain HTTP without a certificate: bearer tokens cross the network "
                   "in clear. For tests only.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="The cluster CA (PEM) node agents' certificates must chain to "
                   "(`cox master init` writes DIR/pki/ca.crt).")
@click.option("--encryption-config-file", type=click.Path(exists=True, dir_okay=False),
              help="EncryptionConfiguration for Secrets at rest (docs/security.md).")
@click.option("--cluster-cidr", help=_default("controllers.cluster_cidr"))
@click.option("--service-cidr", help=_default("controllers.service_cidr"))
@click.option("--node-grace-period", type=float,
              help="Seconds without a heartbeat before a node is NotReady. "
                   + _default("controllers.node_grace_period"))
@click.option("--eviction-timeout", type=float,
              help="Seconds a node stays NotReady before its pods are evicted. "
                   + _default("controllers.eviction_timeout"))
@click.option("--threads", type=int,
              help="API server worker threads for request/response calls (watches hold "
                   "none). " + _default("threads"))
@click.option("--event-ttl", type=int,
              help="Seconds an Event lives after its last occurrence. " + _default("event_ttl"))
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
              help=_default("log_level"))
@_raft_options
def run(config_file: str | None, **flags: Any) -> None:
    """Run one master: a store replica, the API server and (when leader) the controllers."""
    from coxapi.private import UMASK

    from .process import Master

    os.umask(UMASK)  # the journal, snapshot and logs this process writes are private

    given = {FLAG_KEYS.get(param, param): value for param, value in flags.items()}
    given["peers"] = list(flags["peers"]) or None
    try:
        cfg = load(MasterConfig, env_prefix=ENV_PREFIX, file=config_file, flags=given)
    except ConfigError as e:
        raise click.UsageError(str(e)) from None
    try:
        cfg.tls_files()
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    _host_port(cfg.listen, "--listen")
    _host_port(cfg.raft_addr, "--raft")
    for p in cfg.peers:
        _host_port(p, "--peer")
    if cfg.log_level.upper() not in LOG_LEVELS:
        raise click.BadParameter(f"{cfg.log_level!r} is not one of {', '.join(LOG_LEVELS)}",
                                 param_hint="--log-level")
    logging.basicConfig(
        level=cfg.log_level.upper(), stream=sys.stderr,
        format=f"%(asctime)s {cfg.name} %(levelname)s %(name)s: %(message)s")
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


def _membership_commands() -> None:
    """``cox master add|remove|members`` (cli.commands.masters)."""
    from cli.commands.masters import add_command, members_command, remove_command

    for command in (add_command, remove_command, members_command):
        master.add_command(command)


_membership_commands()
