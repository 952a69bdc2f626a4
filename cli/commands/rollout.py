"""``cox rollout status|history|undo|restart``: follow, revert and restart Deployment rollouts.

The decisions (is the rollout done, which ReplicaSet holds which revision,
which template to roll back to) are pure functions; the commands fetch and
write.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from coxapi import rollout as revisions
from coxapi.client import Client
from coxapi.kinds import Kind, lookup
from coxapi.retry import retry_on_conflict
from coxapi.rollout import (
    CHANGE_CAUSE,
    RESTARTED_AT,
    owned_replicasets,
    revision_of,
    template_without_hash,
)
from coxapi.timefmt import rfc3339

from .. import printers
from ..errors import CliError, TimedOut, UsageFailure
from .context import CliContext, namespace_option, pass_cli
from .targets import parse_duration, parse_single

Obj = dict[str, Any]
POLL_SECONDS = 1.0


class RolloutFailed(CliError):
    pass


def rollout_status(dep: Obj) -> tuple[bool, str]:
    """(done, message) for a Deployment, as kubectl's rollout status viewer says it."""
    name = dep.get("metadata", {}).get("name", "")
    spec, st = dep.get("spec") or {}, dep.get("status") or {}
    generation = dep.get("metadata", {}).get("generation", 0) or 0
    if (st.get("observedGeneration") or 0) < generation:
        return False, "Waiting for deployment spec update to be observed..."
    for c in st.get("conditions") or []:
        if c.get("type") == "Progressing" and c.get("reason") == "ProgressDeadlineExceeded":
            raise RolloutFailed(f'deployment "{name}" exceeded its progress deadline')
    want = spec.get("replicas", 1)
    updated = st.get("updatedReplicas", 0) or 0
    replicas = st.get("replicas", 0) or 0
    available = st.get("availableReplicas", 0) or 0
    if updated < want:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {updated} out of '
                       f"{want} new replicas have been updated...")
    if replicas > updated:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {replicas - updated} '
                       f"old replicas are pending termination...")
    if available < updated:
        return False, (f'Waiting for deployment "{name}" rollout to finish: {available} of '
                       f"{updated} updated replicas are available...")
    return True, f'deployment "{name}" successfully rolled out'


def rollback_target(dep: Obj, owned: list[Obj], to_revision: int = 0) -> Obj:
    try:
        return revisions.rollback_target(dep, owned, to_revision)
    except revisions.NoRevision as e:
        raise (UsageFailure if e.asked else CliError)(str(e)) from None


def _deployment(args: tuple[str, ...]) -> tuple[Kind, str]:
    kind, name = parse_single(args, "deployment")
    if kind.kind != "Deployment":
        raise UsageFailure(f"rollout works on deployments, not {printers.plural_name(kind)}")
    return kind, name


def _owned(client: Client, dep: Obj, ns: str) -> list[Obj]:
    items = client.list(lookup("replicasets"), ns).get("items") or []
    return owned_replicasets(dep, items)


@click.group()
def rollout() -> None:
    """Follow, inspect and undo Deployment rollouts."""


@rollout.command()
@click.argument("args", nargs=-1, required=True, metavar="deploy/NAME")
@namespace_option
@click.option("--timeout", default="0", metavar="DURATION",
              help="Give up after this long (0 = wait forever).")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Wait for the rollout to finish, or just report where it is.")
@pass_cli
def status(cli: CliContext, args: tuple[str, ...], namespace: str | None, timeout: str,
           watch: bool) -> None:
    """Wait until a Deployment's rollout is done, printing progress."""
    kind, name = _deployment(args)
    limit = parse_duration(timeout)
    ns = cli.namespace_for(namespace)
    client = cli.client()
    deadline = cli.now() + timedelta(seconds=limit) if limit else None
    last = None
    while True:
        done, message = rollout_status(client.get(kind, name, ns))
        if message != last:
            click.echo(message)
            last = message
        if done:
            return
        if not watch:
            return  # kubectl --watch=false: report where the rollout is, and stop
        if deadline is not None and cli.now() >= deadline:
            raise TimedOut(f'timed out waiting for the rollout of deployment "{name}" '
                           f"after {timeout}")
        cli.sleep(POLL_SECONDS)


@rollout.command()
@click.argument("args", nargs=-1, required=True, metavar="deploy/NAME")
@namespace_option
@click.option("--revision", type=int, default=0, help="Show the pod template of this revision.")
@pass_cli
def history(cli: CliContext, args: tuple[str, ...], namespace: str | None, revision: int) -> None:
    """List a Deployment's revisions (one per ReplicaSet it has had)."""
    kind, name = _deployment(args)
    ns = cli.namespace_for(namespace)
    client = cli.client()
    dep = client.get(kind, name, ns)
    owned = _owned(client, dep, ns)
    if revision:
        rs = rollback_target(dep, owned, revision)
        click.echo(f"{printers.object_ref(kind, name)} with revision #{revision}")
        click.echo(printers.to_yaml({"template": template_without_hash(
            rs.get("spec", {}).get("template") or {})}), nl=False)
        return
    if not owned:
        click.echo(f"No rollout history found for {printers.object_ref(kind, name)}.")
        return
    click.echo(printers.object_ref(kind, name))
    rows = [["REVISION", "CHANGE-CAUSE"]]
    for rs in owned:
        cause = (rs.get("metadata", {}).get("annotations") or {}).get(CHANGE_CAUSE)
        rows.append([str(revision_of(rs)), cause or printers.NONE])
    for line in printers.render_table(rows):
        click.echo(line)


@rollout.command()
@click.argument("args", nargs=-1, required=True, metavar="deploy/NAME")
@namespace_option
@click.option("--to-revision", type=click.IntRange(0), default=0,
              help="Revision to go back to (default: the previous one).")
@pass_cli
def undo(cli: CliContext, args: tuple[str, ...], namespace: str | None, to_revision: int) -> None:
    """Roll a Deployment back to an earlier revision's pod template."""
    kind, name = _deployment(args)
    ns = cli.namespace_for(namespace)
    client = cli.client()

    def attempt() -> str:
        dep = client.get(kind, name, ns)
        owned = _owned(client, dep, ns)
        target = rollback_target(dep, owned, to_revision)
        if revisions.rolled_back(dep, target) is None:
            return f"skipped rollback (current template already matches revision {revision_of(target)})"
        client.update(dep)  # carries the live resourceVersion: a conflict means retry
        return "rolled back"
    click.echo(f"{printers.object_ref(kind, name)} {retry_on_conflict(attempt)}")


@rollout.command()
@click.argument("args", nargs=-1, required=True, metavar="deploy/NAME")
@namespace_option
@pass_cli
def restart(cli: CliContext, args: tuple[str, ...], namespace: str | None) -> None:
    """Replace every pod of a Deployment with a fresh one, through a normal rollout."""
    kind, name = _deployment(args)
    # A changed template annotation is a new template: the controller rolls it out.
    stamp = rfc3339(cli.now())
    patch = {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    cli.client().patch(kind, name, patch, cli.namespace_for(namespace))
    click.echo(f"{printers.object_ref(kind, name)} restarted")
