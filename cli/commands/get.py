"""``cox get``: list or fetch objects and print them as a table, yaml, json or names."""

from __future__ import annotations

import time
from typing import Any

import click

from coxapi import errors as api
from coxapi.kinds import Kind
from coxapi.labels import parse_selector

from .. import printers
from ..errors import ReportedError, UsageFailure, api_error_code, api_error_line
from .context import CliContext, all_namespaces_option, namespace_option, pass_cli
from .targets import parse_duration, parse_targets

Obj = dict[str, Any]
OUTPUTS = ("wide", "yaml", "json", "name")


def _ns_for(cli: CliContext, kind: Kind, namespace: str | None, all_ns: bool) -> str | None:
    if not kind.namespaced or all_ns:
        return None
    return cli.namespace_for(namespace)


def _print_objects(kind: Kind, objs: list[Obj], output: str | None, cli: CliContext, *,
                   all_ns: bool, show_labels: bool, prefix_names: bool) -> list[int]:
    """Print one kind's objects as a table (or names); returns the column widths used."""
    if output == "name":
        for o in objs:
            click.echo(printers.object_ref(kind, o.get("metadata", {}).get("name", "")))
        return []
    wide = output == "wide"
    now = cli.now()
    rows = [printers.headers_for(kind, wide, all_ns, show_labels)]
    name_col = rows[0].index("NAME") if "NAME" in rows[0] else None
    for o in printers.sort_for_table(kind, objs):
        row = printers.row_for(kind, o, now, wide, all_ns, show_labels)
        if prefix_names and name_col is not None:
            row[name_col] = printers.object_ref(kind, row[name_col])
        rows.append(row)
    widths = printers.column_widths(rows)
    for r in rows:
        click.echo(printers.format_row(r, widths))
    return widths


def _print_documents(objs: list[Obj], output: str, single: bool) -> None:
    doc = objs[0] if single else printers.as_list(objs)
    click.echo(printers.to_yaml(doc) if output == "yaml" else printers.to_json(doc), nl=False)


@click.command()
@click.argument("args", nargs=-1, required=True, metavar="KIND[,KIND] [NAME...] | KIND/NAME...")
@namespace_option
@all_namespaces_option
@click.option("-l", "--selector", default=None, help="Label selector, e.g. app=web,tier!=db.")
@click.option("--field-selector", default=None, help="Field selector, e.g. spec.nodeName=n1.")
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default=None,
              help="Output format.")
@click.option("-w", "--watch", is_flag=True, help="After listing, watch for changes.")
@click.option("--watch-timeout", default="0", metavar="DURATION",
              help="With -w, stop watching after this long (0 = until interrupted).")
@click.option("--show-labels", is_flag=True, help="Add a LABELS column.")
@pass_cli
def get(cli: CliContext, args: tuple[str, ...], namespace: str | None, all_namespaces: bool,
        selector: str | None, field_selector: str | None, output: str | None, watch: bool,
        watch_timeout: str, show_labels: bool) -> None:
    """Display one or many objects.

    \b
    Examples:
      cox get pods
      cox get deploy web -o yaml
      cox get po,svc -l app=web -A
      cox get nodes -o wide
      cox get pods -w
    """
    targets = parse_targets(args)
    parse_selector(selector)  # a bad selector is a usage error, caught before any request
    watch_limit = parse_duration(watch_timeout)
    if watch and len(targets) != 1:
        raise UsageFailure("you may only watch one kind of resource at a time")
    client = cli.client()
    failures: list[api.ApiError] = []
    collected: list[tuple[Kind, list[Obj]]] = []
    list_rv = None
    for kind, names in targets:
        ns = _ns_for(cli, kind, namespace, all_namespaces and not names)
        objs: list[Obj] = []
        if names and not watch:
            for name in names:
                try:
                    objs.append(client.get(kind, name, ns))
                except api.NotFound as e:
                    failures.append(e)
        else:
            result = client.list(kind, ns, label_selector=selector, field_selector=field_selector)
            list_rv = (result.get("metadata") or {}).get("resourceVersion")
            objs = [printers.with_type_meta(kind, o) for o in result.get("items") or []]
            if names:
                objs = [o for o in objs if o.get("metadata", {}).get("name") in names]
        collected.append((kind, objs))

    all_ns = all_namespaces and not any(names for _, names in targets)
    everything = [o for _, objs in collected for o in objs]
    widths: list[int] = []
    if output in ("yaml", "json"):
        if everything:
            single = len(targets) == 1 and len(targets[0][1]) == 1 and len(everything) == 1
            _print_documents(everything, output, single)
    else:
        first = True
        for kind, objs in collected:
            if not objs:
                continue
            if not first and output != "name":
                click.echo("")
            first = False
            widths = _print_objects(kind, objs, output, cli, all_ns=all_ns,
                                    show_labels=show_labels, prefix_names=len(targets) > 1)
    if not everything and not failures and not watch:
        kind0 = targets[0][0]
        where = (f" in {cli.namespace_for(namespace)} namespace"
                 if kind0.namespaced and not all_namespaces else "")
        click.echo(f"No resources found{where}.", err=True)
    if failures:
        for failure in failures[:-1]:
            click.echo(api_error_line(failure), err=True)
        raise ReportedError(api_error_line(failures[-1]), api_error_code(failures[-1]))
    if watch:
        kind, names = targets[0]
        _watch(cli, kind, names, _ns_for(cli, kind, namespace, all_namespaces), selector,
               field_selector, output, list_rv, widths, all_ns, show_labels,
               watch_limit)


def _watch(cli: CliContext, kind: Kind, names: list[str], ns: str | None, selector: str | None,
           field_selector: str | None, output: str | None, rv: str | None, widths: list[int],
           all_ns: bool, show_labels: bool, timeout: float) -> None:
    """Print a row (or document) for every change until interrupted or ``timeout``."""
    client = cli.client()
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        remaining = None if deadline is None else max(1, int(deadline - time.monotonic() + 0.999))
        try:
            for etype, obj in client.watch(kind, ns, resource_version=rv, label_selector=selector,
                                           field_selector=field_selector,
                                           timeout_seconds=remaining):
                rv = (obj.get("metadata") or {}).get("resourceVersion") or rv
                if etype == "BOOKMARK":
                    continue
                if names and obj.get("metadata", {}).get("name") not in names:
                    continue
                obj = printers.with_type_meta(kind, obj)
                if output == "name":
                    click.echo(printers.object_ref(kind, obj["metadata"].get("name", "")))
                elif output == "yaml":
                    click.echo("---\n" + printers.to_yaml(obj), nl=False)
                elif output == "json":
                    click.echo(printers.to_json(obj), nl=False)
                else:
                    row = printers.row_for(kind, obj, cli.now(), output == "wide", all_ns,
                                           show_labels)
                    if not widths:
                        header = printers.headers_for(kind, output == "wide", all_ns, show_labels)
                        widths = printers.column_widths([header, row])
                        click.echo(printers.format_row(header, widths))
                    click.echo(printers.format_row(row, widths))
        except api.Gone:
            # Our revision was compacted away: start again from a fresh list.
            result = client.list(kind, ns, label_selector=selector, field_selector=field_selector)
            rv = (result.get("metadata") or {}).get("resourceVersion")
        except api.ConnectionBroken:
            pass  # the master went away mid-stream: watch again (the client fails over)
        if deadline is not None and time.monotonic() >= deadline:
            return
        cli.sleep(0.2)
