"""``cox autoscale``: create a HorizontalPodAutoscaler for a Deployment or
ReplicaSet (kubectl autoscale), served as autoscaling/v2."""

from __future__ import annotations

import click

from coxapi import kinds

from .. import printers
from ..errors import UsageFailure
from .context import CliContext, namespace_option, pass_cli
from .targets import parse_single

HPA = kinds.lookup("HorizontalPodAutoscaler")


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND/NAME | KIND NAME")
@click.option("--max", "high", type=click.IntRange(1), required=True,
              help="The most pods the autoscaler may set.")
@click.option("--min", "low", type=click.IntRange(1), default=None,
              help="The fewest pods (default: 1).")
@click.option("--cpu-percent", type=click.IntRange(1), default=None,
              help="Target average CPU use, in percent of the pods' requests (default: 80).")
@click.option("--name", default=None, help="The autoscaler's name (default: the target's).")
@namespace_option
@pass_cli
def autoscale(cli: CliContext, args: tuple[str, ...], high: int, low: int | None,
              cpu_percent: int | None, name: str | None, namespace: str | None) -> None:
    """Scale a Deployment or ReplicaSet on the CPU use of its pods.

    \b
    Examples:
      cox autoscale deploy/web --min 2 --max 10 --cpu-percent 50
    """
    kind, target = parse_single(args)
    if "scale" not in kind.subresources:
        raise UsageFailure(f"{printers.plural_name(kind)} cannot be autoscaled "
                           f"(no scale subresource)")
    if low is not None and low > high:
        raise UsageFailure("--min may not be more than --max")
    ns = cli.namespace_for(namespace)
    client = cli.client()
    client.get(kind, target, ns)  # kubectl's NotFound for a missing target
    spec: dict = {"scaleTargetRef": {"apiVersion": kind.api_version, "kind": kind.kind,
                                     "name": target},
                  "maxReplicas": high}
    if low is not None:
        spec["minReplicas"] = low
    if cpu_percent is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": cpu_percent}}}]
    client.create({"apiVersion": HPA.api_version, "kind": HPA.kind,
                   "metadata": {"name": name or target, "namespace": ns}, "spec": spec}, ns)
    click.echo(f"{printers.object_ref(HPA, name or target)} autoscaled")
