"""``cox scale``: set a Deployment's or ReplicaSet's replica count via the scale subresource."""

from __future__ import annotations

import click

from .. import printers
from ..errors import UsageFailure
from .context import CliContext, namespace_option, pass_cli
from .targets import parse_single


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND/NAME | KIND NAME")
@click.option("--replicas", type=click.IntRange(0), required=True, help="The new replica count.")
@click.option("--current-replicas", type=int, default=None,
              help="Only scale if the current count is this (a precondition).")
@namespace_option
@pass_cli
def scale(cli: CliContext, args: tuple[str, ...], replicas: int, current_replicas: int | None,
          namespace: str | None) -> None:
    """Set a new size for a Deployment or ReplicaSet.

    \b
    Examples:
      cox scale deploy/web --replicas 5
      cox scale deployment web --replicas 0
    """
    kind, name = parse_single(args)
    if "scale" not in kind.subresources:
        raise UsageFailure(f'{printers.plural_name(kind)} cannot be scaled '
                           f"(no scale subresource)")
    ns = cli.namespace_for(namespace) if kind.namespaced else None
    client = cli.client()
    patch: dict = {"spec": {"replicas": replicas}}
    if current_replicas is not None:
        current = client.get(kind, name, ns)  # also gives kubectl's NotFound wording
        have = (current.get("spec") or {}).get("replicas", 1)
        if have != current_replicas:
            raise UsageFailure(f"expected replicas to be {current_replicas}, was {have}")
        patch["metadata"] = {"resourceVersion": current["metadata"].get("resourceVersion")}
    client.patch(kind, name, patch, ns, subresource="scale")
    click.echo(f"{printers.object_ref(kind, name)} scaled")
