"""``cox node run``: the node agent. Loaded by the CLI through ``coxswain.commands``.

The agent's token is read from a file (never argv). Errors a user can act on
(no Docker, bad flags, unreadable token) end with a one-line message.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from typing import Any

import click

from coxapi.config import ConfigError, default_of, load, shown

from .config import ENV_PREFIX, NodeRunConfig

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _label(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{value!r} must look like key=value", param_hint="--label")
    return key, val


def _default(key: str) -> str:
    return f"[default: {shown(default_of(NodeRunConfig, key))}]"


@click.group()
def node() -> None:
    """Run a coxswain node agent."""


@node.command()
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
              help="YAML file of settings (docs/config.md); the environment "
                   "(COX_NODE_<KEY>, e.g. COX_NODE_MAX_PODS) and flags override it.")
@click.option("--name", help="Name of this node.")
@click.option("--master", "masters", multiple=True,
              help="API URL of a master (repeatable; the agent fails over between them).")
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help="File holding this node's bearer token.")
@click.option("--ca-file", type=click.Path(exists=True, dir_okay=False),
              help="The cluster CA (PEM) the masters' certificates must chain to "
                   "(`cox master init` writes DIR/pki/ca.crt).")
@click.option("--tls-cert-file", type=click.Path(exists=True, dir_okay=False),
              help="The agent server's certificate, which masters verify against the "
                   "cluster CA (`cox master init --node-address NAME=ADDRESS` writes "
                   "DIR/pki/node-NAME.crt). Without it masters are served in clear.")
@click.option("--tls-private-key-file", type=click.Path(exists=True, dir_okay=False),
              help="Its private key.")
@click.option("--address", help="This node's InternalIP (pods route via it).")
@click.option("--docker-host", help=_default("docker_host"))
@click.option("--port", type=int,
              help="Port of the container-logs endpoint (bound on --address). " + _default("port"))
@click.option("--data-dir", type=click.Path(file_okay=False),
              help="Directory for pod volumes (emptyDir).")
@click.option("--label", "labels", multiple=True, help="Node label key=value (repeatable).")
@click.option("--taint", "taints", multiple=True,
              help="Node taint key=value:Effect (repeatable).")
@click.option("--max-pods", type=int, help=_default("max_pods"))
@click.option("--cluster-cidr",
              help="Pod traffic to addresses outside it is masqueraded. " + _default("cluster_cidr"))
@click.option("--pod-network",
              help="Name of the Docker network pods are attached to. " + _default("pod_network"))
@click.option("--heartbeat-period", type=float, help=_default("heartbeat_period"))
@click.option("--no-proxy", is_flag=True, default=None,
              help="Do not run the service proxy in this process.")
@click.option("--no-network", is_flag=True, default=None,
              help="Leave routes, masquerade and ip_forward alone (single-node tests).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False),
              help=_default("log_level"))
def run(config_file: str | None, masters: tuple[str, ...], labels: tuple[str, ...],
        taints: tuple[str, ...], no_proxy: bool | None, no_network: bool | None,
        **flags: Any) -> None:
    """Run the node agent: register, heartbeat, run the pods bound to this node."""
    import docker.errors

    from coxapi.client import DISCOVER_INTERVAL, Client

    from .agent import Agent
    from .runtime import DockerRuntime

    flags.update(masters=list(masters) or None, taints=list(taints) or None,
                 labels=dict(_label(v) for v in labels) or None,
                 run_proxy=None if no_proxy is None else not no_proxy,
                 manage_network=None if no_network is None else not no_network)
    try:
        settings = load(NodeRunConfig, env_prefix=ENV_PREFIX, file=config_file, flags=flags)
    except ConfigError as e:
        raise click.BadParameter(str(e), param_hint="--taint") from None
    if settings.log_level.upper() not in LOG_LEVELS:
        raise click.BadParameter(f"{settings.log_level!r} is not one of {', '.join(LOG_LEVELS)}",
                                 param_hint="--log-level")
    name = settings.name
    logging.basicConfig(level=settings.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    try:
        with open(settings.token_file) as f:
            token = f.read().strip()
    except OSError as e:
        raise click.ClickException(f"cannot read --token-file: {e.strerror}") from None
    if bool(settings.tls_cert_file) != bool(settings.tls_private_key_file):
        raise click.UsageError("--tls-cert-file and --tls-private-key-file go together")
    try:
        cfg = settings.agent_config(token)
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        runtime = DockerRuntime(settings.docker_host, network=settings.pod_network)
    except docker.errors.DockerException as e:
        raise click.ClickException(f"cannot reach Docker at {settings.docker_host}: {e}") \
            from None
    # The --master list only seeds it: the agent follows the masters as they
    # are added and removed (docs/membership.md).
    client = Client(list(settings.masters), token, user_agent=f"cox-node/{name}",
                    ca_file=settings.ca_file, discover_interval=DISCOVER_INTERVAL)
    agent = Agent(cfg, client, runtime)

    def on_signal(signum: int, _frame: object) -> None:
        logging.getLogger(__name__).info("signal %d: stopping (pods keep running)", signum)
        agent.stop()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    failures: list[BaseException] = []

    def run_agent() -> None:
        try:
            agent.run()
        except Exception as e:  # noqa: BLE001 - reported as one line below
            logging.getLogger(__name__).debug("agent failed", exc_info=True)
            failures.append(e)
            agent.stop()

    t = threading.Thread(target=run_agent, name="agent")
    t.start()
    while t.is_alive():  # the main thread stays free to take signals
        t.join(0.5)
    if failures:
        raise click.ClickException(f"node agent stopped: {failures[0]}")
