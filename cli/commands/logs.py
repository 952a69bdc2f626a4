"""``cox logs``: a container's output, fetched (or followed) through the master."""

from __future__ import annotations

import click

from coxapi.kinds import lookup

from ..errors import UsageFailure
from .context import CliContext, namespace_option, pass_cli


def pick_container(pod: dict, wanted: str | None) -> str:
    """The container to read: ``-c``, else the only one (kubectl refuses to guess)."""
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    name = pod.get("metadata", {}).get("name", "")
    if wanted:
        if wanted not in names:
            raise UsageFailure(f'container {wanted} is not valid for pod {name}; '
                               f'choose one of: [{" ".join(names)}]')
        return wanted
    if len(names) == 1:
        return names[0]
    raise UsageFailure(f"a container name must be specified for pod {name}, "
                       f'choose one of: [{" ".join(names)}]')


@click.command()
@click.argument("pod_name", metavar="POD")
@namespace_option
@click.option("-c", "--container", default=None, help="Container (needed if the pod has several).")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new output.")
@click.option("--tail", type=int, default=-1, show_default=True,
              help="Lines of recent output to show (-1 = all).")
@pass_cli
def logs(cli: CliContext, pod_name: str, namespace: str | None, container: str | None,
         follow: bool, tail: int) -> None:
    """Print the logs of a container in a pod.

    \b
    Examples:
      cox logs web-6c9f
      cox logs -f pod/web-6c9f -c app --tail 20
    """
    kind_name, sep, name = pod_name.rpartition("/")
    if sep and "log" not in lookup(kind_name).subresources:
        raise UsageFailure(f"cox logs reads pods, not {kind_name}")
    pods = lookup("pods")
    ns = cli.namespace_for(namespace)
    client = cli.client()
    pod = client.get(pods, name, ns)
    params: dict[str, str] = {"container": pick_container(pod, container)}
    if follow:
        params["follow"] = "true"
    if tail >= 0:
        params["tailLines"] = str(tail)
    for line in client.stream_text(pods.path(ns, name, "log"), params=params):
        click.echo(line)
