"""``cox node run``: the node agent. Loaded by the CLI through ``coxswain.commands``.

The agent's token is read from a file (never argv). Errors a user can act on
(no Docker, bad flags, unreadable token) end with a one-line message.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click


def _label(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key:
        raise click.BadParameter(f"{value!r} must look like key=value", param_hint="--label")
    return key, val


@click.group()
def node() -> None:
    """Run a coxswain node agent."""


@node.command()
@click.option("--name", required=True, help="Name of this node.")
@click.option("--master", "masters", multiple=True, required=True,
              help="API URL of a master (repeatable; the agent fails over between them).")
@click.option("--token-file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="File holding this node's bearer token.")
@click.option("--address", required=True, help="This node's InternalIP (pods route via it).")
@click.option("--docker-host", default="unix:///var/run/docker.sock", show_default=True)
@click.option("--port", default=10250, show_default=True, type=int,
              help="Port of the container-logs endpoint (bound on --address).")
@click.option("--data-dir", required=True, type=click.Path(file_okay=False),
              help="Directory for pod volumes (emptyDir).")
@click.option("--label", "labels", multiple=True, help="Node label key=value (repeatable).")
@click.option("--taint", "taints", multiple=True,
              help="Node taint key=value:Effect (repeatable).")
@click.option("--max-pods", default=110, show_default=True, type=int)
@click.option("--cluster-cidr", default="10.244.0.0/16", show_default=True,
              help="Pod traffic to addresses outside it is masqueraded.")
@click.option("--pod-network", default="cox-pods", show_default=True,
              help="Name of the Docker network pods are attached to.")
@click.option("--heartbeat-period", default=5.0, show_default=True, type=float)
@click.option("--no-proxy", is_flag=True, help="Do not run the service proxy in this process.")
@click.option("--no-network", is_flag=True,
              help="Leave routes, masquerade and ip_forward alone (single-node tests).")
@click.option("--log-level", default="INFO", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def run(name: str, masters: tuple[str, ...], token_file: str, address: str, docker_host: str,
        port: int, data_dir: str, labels: tuple[str, ...], taints: tuple[str, ...],
        max_pods: int, cluster_cidr: str, pod_network: str, heartbeat_period: float,
        no_proxy: bool, no_network: bool, log_level: str) -> None:
    """Run the node agent: register, heartbeat, run the pods bound to this node."""
    import docker.errors

    from coxapi.client import Client

    from .agent import Agent, AgentConfig
    from .registration import NodeConfig, Taint
    from .runtime import DockerRuntime

    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s {name} %(levelname)s %(name)s: %(message)s")
    try:
        node_taints = [Taint.parse(t) for t in taints]
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--taint") from None
    node_labels = dict(_label(v) for v in labels)
    try:
        with open(token_file) as f:
            token = f.read().strip()
    except OSError as e:
        raise click.ClickException(f"cannot read --token-file: {e.strerror}") from None
    try:
        runtime = DockerRuntime(docker_host, network=pod_network)
    except docker.errors.DockerException as e:
        raise click.ClickException(f"cannot reach Docker at {docker_host}: {e}") from None
    cfg = AgentConfig(
        node=NodeConfig(name=name, address=address, port=port,
                        labels=node_labels, taints=node_taints,
                        max_pods=max_pods),
        data_dir=data_dir, masters=list(masters), token=token, pod_network=pod_network,
        cluster_cidr=cluster_cidr, heartbeat_period=heartbeat_period,
        manage_network=not no_network, run_proxy=not no_proxy,
    )
    agent = Agent(cfg, Client(list(masters), token, user_agent=f"cox-node/{name}"), runtime)

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
