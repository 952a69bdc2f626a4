"""``cox cordon``, ``uncordon`` and ``drain``: take a node out of (or back into) service.

``coxapi.drain.plan_drain`` decides, purely, which pods a drain deletes, skips
or refuses, with kubectl's rules; the command does the requests and waits.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from coxapi import errors as api
from coxapi.client import Client
from coxapi.drain import plan_drain, pod_ref
from coxapi.kinds import lookup

from ..errors import CliError, TimedOut
from .context import CliContext, pass_cli
from .targets import parse_duration

Obj = dict[str, Any]
NODES = lookup("nodes")
PODS = lookup("pods")
POLL_SECONDS = 1.0
PROGRESS_EVERY = 5  # polls between "still waiting" lines


def _set_unschedulable(client: Client, name: str, value: bool) -> bool:
    """Returns False when the node already was in that state."""
    node = client.get(NODES, name, None)
    if bool((node.get("spec") or {}).get("unschedulable")) == value:
        return False
    client.patch(NODES, name, {"spec": {"unschedulable": True if value else None}}, None)
    return True


@click.command()
@click.argument("node")
@pass_cli
def cordon(cli: CliContext, node: str) -> None:
    """Mark a node unschedulable: new pods go elsewhere, running ones stay."""
    changed = _set_unschedulable(cli.client(), node, True)
    click.echo(f"node/{node} {'cordoned' if changed else 'already cordoned'}")


@click.command()
@click.argument("node")
@pass_cli
def uncordon(cli: CliContext, node: str) -> None:
    """Mark a node schedulable again."""
    changed = _set_unschedulable(cli.client(), node, False)
    click.echo(f"node/{node} {'uncordoned' if changed else 'already uncordoned'}")


def pods_on(client: Client, node: str) -> list[Obj]:
    result = client.list(PODS, None, field_selector=f"spec.nodeName={node}")
    # Filter here too: a server that ignored the field selector must not drain other nodes.
    return [p for p in result.get("items") or [] if (p.get("spec") or {}).get("nodeName") == node]


@click.command()
@click.argument("node")
@click.option("--force", is_flag=True, help="Also delete pods that no controller manages.")
@click.option("--ignore-daemonsets", is_flag=True, help="Leave DaemonSet-managed pods alone.")
@click.option("--delete-emptydir-data", is_flag=True,
              help="Also delete pods using emptyDir volumes (their data is lost).")
@click.option("--grace-period", type=int, default=None,
              help="Seconds each pod gets to stop (default: the pod's own).")
@click.option("--timeout", default="0", metavar="DURATION",
              help="Give up waiting after this long (0 = wait forever).")
@pass_cli
def drain(cli: CliContext, node: str, force: bool, ignore_daemonsets: bool,
          delete_emptydir_data: bool, grace_period: int | None, timeout: str) -> None:
    """Cordon a node, then delete its pods and wait until they are gone.

    Pods owned by a controller are recreated elsewhere; pods that no controller
    manages would be lost, so they are refused unless --force is given.
    """
    limit = parse_duration(timeout)
    client = cli.client()
    changed = _set_unschedulable(client, node, True)
    click.echo(f"node/{node} {'cordoned' if changed else 'already cordoned'}")
    plan = plan_drain(pods_on(client, node), force=force, ignore_daemonsets=ignore_daemonsets,
                      delete_emptydir_data=delete_emptydir_data)
    if plan.errors:
        raise CliError(f"unable to drain node \"{node}\": " + "; ".join(plan.errors))
    for w in plan.warnings:
        click.echo(f"Warning: {w}", err=True)
    waiting: dict[str, tuple[str, str, str | None]] = {}
    for pod in plan.delete:
        meta = pod["metadata"]
        click.echo(f"evicting pod {pod_ref(pod)}")
        try:
            client.delete(PODS, meta["name"], meta.get("namespace"), grace_period=grace_period)
        except api.NotFound:
            continue
        waiting[pod_ref(pod)] = (meta["name"], meta.get("namespace", ""), meta.get("uid"))
    deadline = cli.now() + timedelta(seconds=limit) if limit else None
    polls = 0
    while waiting:
        for ref, (name, ns, uid) in list(waiting.items()):
            try:
                live = client.get(PODS, name, ns)
            except api.NotFound:
                live = None
            if live is None or (uid and live.get("metadata", {}).get("uid") != uid):
                click.echo(f"pod/{name} evicted")
                del waiting[ref]
        if not waiting:
            break
        polls += 1
        if polls % PROGRESS_EVERY == 0:
            click.echo(f"waiting for {len(waiting)} pod(s) to terminate: "
                       f"{', '.join(sorted(waiting))}")
        if deadline is not None and cli.now() >= deadline:
            raise TimedOut(f'drain of node "{node}" timed out after {timeout}; still '
                           f"terminating: {', '.join(sorted(waiting))}")
        cli.sleep(POLL_SECONDS)
    click.echo(f"node/{node} drained")
