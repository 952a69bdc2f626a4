"""``cox delete``: by kind and names, by selector, or by manifests."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from coxapi import errors as api
from coxapi.kinds import Kind
from coxapi.labels import parse_selector

from .. import manifests, printers
from ..errors import TimedOut, UsageFailure, api_error_code, api_error_line
from .context import CliContext, filename_option, namespace_option, pass_cli
from .targets import parse_duration, parse_targets

Obj = dict[str, Any]
CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan"}


def _wait_gone(cli: CliContext, pending: list[tuple[Kind, str, str | None, str | None]],
               timeout: float) -> None:
    """Wait until every deleted object is gone (or replaced by a new one of the same name)."""
    client = cli.client()
    deadline = time.monotonic() + timeout if timeout else None
    while pending:
        still = []
        for kind, name, ns, uid in pending:
            try:
                obj = client.get(kind, name, ns)
            except api.NotFound:
                continue
            if uid and obj.get("metadata", {}).get("uid") != uid:
                continue
            still.append((kind, name, ns, uid))
        pending = still
        if not pending:
            return
        if deadline is not None and time.monotonic() >= deadline:
            names = ", ".join(printers.object_ref(k, n) for k, n, _, _ in pending)
            raise TimedOut(f"timed out waiting for the deletion of {names}")
        cli.sleep(0.5)


@click.command()
@click.argument("args", nargs=-1, metavar="KIND NAME... | KIND/NAME...")
@filename_option()
@namespace_option
@click.option("-l", "--selector", default=None, help="Delete every object matching this.")
@click.option("--all", "all_", is_flag=True, help="Delete every object of the kind.")
@click.option("--grace-period", type=int, default=None,
              help="Seconds a pod gets to stop (0 = at once; default: the pod's own).")
@click.option("--cascade", type=click.Choice(list(CASCADE)), default="background",
              show_default=True, help="What happens to the objects this one owns.")
@click.option("--ignore-not-found", is_flag=True, help="A missing object is not an error.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the objects are gone.")
@click.option("--timeout", default="0", metavar="DURATION",
              help="How long --wait waits (0 = forever).")
@pass_cli
def delete(cli: CliContext, args: tuple[str, ...], filenames: tuple[str, ...],
           namespace: str | None, selector: str | None, all_: bool, grace_period: int | None,
           cascade: str, ignore_not_found: bool, wait: bool, timeout: str) -> None:
    """Delete objects by name, by label selector, or as listed in manifests.

    \b
    Examples:
      cox delete pod web-6c9f
      cox delete deploy/web svc/web
      cox delete -f web.yaml
      cox delete pods -l app=web --grace-period 0
    """
    wait_timeout = parse_duration(timeout)
    parse_selector(selector)
    targets: list[tuple[Kind, str, str | None]] = []
    if filenames:
        if args:
            raise UsageFailure("give either -f FILE or KIND NAME..., not both")
        for m in manifests.load(filenames, sys.stdin, validate=False, verb="delete"):
            ns = (m.obj["metadata"].get("namespace") or cli.namespace_for(namespace)
                  if m.kind.namespaced else None)
            targets.append((m.kind, m.name, ns))
    else:
        for kind, names in parse_targets(args):
            ns = cli.namespace_for(namespace) if kind.namespaced else None
            if names:
                if selector or all_:
                    raise UsageFailure("names cannot be combined with -l or --all")
                targets += [(kind, n, ns) for n in names]
            elif selector or all_:
                found = cli.client().list(kind, ns, label_selector=selector)
                targets += [(kind, o["metadata"]["name"], ns) for o in found.get("items") or []]
            else:
                raise UsageFailure("resource(s) were provided, but no name was specified "
                                   "(give names, -l SELECTOR or --all)")
    if not targets:
        click.echo("No resources found", err=True)
        return
    client = cli.client()
    failures: list[api.ApiError] = []
    pending: list[tuple[Kind, str, str | None, str | None]] = []
    for kind, name, ns in targets:
        try:
            result = client.delete(kind, name, ns, propagation=CASCADE[cascade],
                                   grace_period=grace_period)
        except api.NotFound as e:
            if not ignore_not_found:
                failures.append(e)
                click.echo(api_error_line(e), err=True)
            continue
        pending.append((kind, name, ns, _uid_of(result)))
        click.echo(f'{printers.resource_name(kind)} "{name}" deleted')
    if wait and pending:
        _wait_gone(cli, pending, wait_timeout)
    if failures:
        # Each failure was reported on its own line above.
        raise click.exceptions.Exit(api_error_code(failures[0]))


def _uid_of(result: object) -> str | None:
    """The uid of what a DELETE answered: the object, still being deleted
    (finalizers, graceful pods), or the Status of one removed at once."""
    if not isinstance(result, dict):
        return None
    if result.get("kind") == "Status":
        return (result.get("details") or {}).get("uid")
    return (result.get("metadata") or {}).get("uid")
