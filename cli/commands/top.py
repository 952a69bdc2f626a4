"""``cox top nodes|pods``: resource usage the node agents report in ``status.usage``."""

from __future__ import annotations

import click

from coxapi import quantity
from coxapi.kinds import lookup

from .. import printers
from ..errors import EXIT_NOT_FOUND, CliError
from .context import CliContext, all_namespaces_option, namespace_option, pass_cli

SORT_KEYS = ("cpu", "memory")


def _sort(rows: list[list[str]], by: str | None, cpu_col: int, mem_col: int) -> list[list[str]]:
    if not by:
        return rows

    def key(row: list[str]) -> int:
        cell = row[cpu_col] if by == "cpu" else row[mem_col]
        try:
            return quantity.parse_cpu(cell) if by == "cpu" else quantity.parse_memory(cell)
        except ValueError:
            return -1

    return sorted(rows, key=key, reverse=True)


@click.group()
def top() -> None:
    """Show CPU and memory use of nodes or pods."""


@top.command("nodes")
@click.argument("names", nargs=-1)
@click.option("-l", "--selector", default=None, help="Label selector.")
@click.option("--sort-by", type=click.Choice(SORT_KEYS), default=None)
@pass_cli
def top_nodes(cli: CliContext, names: tuple[str, ...], selector: str | None,
              sort_by: str | None) -> None:
    """CPU and memory use of nodes, against what they can allocate."""
    nodes = cli.client().list(lookup("nodes"), label_selector=selector).get("items") or []
    if names:
        nodes = [n for n in nodes if n.get("metadata", {}).get("name") in names]
        missing = set(names) - {n["metadata"]["name"] for n in nodes}
        if missing:
            raise CliError(f'nodes "{sorted(missing)[0]}" not found', EXIT_NOT_FOUND)
    if not nodes:
        raise CliError("metrics not available yet (no nodes)")
    rows = _sort([printers.top_node_row(n) for n in nodes], sort_by, 1, 3)
    header = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    for line in printers.render_table([header, *rows]):
        click.echo(line)


@top.command("pods")
@click.argument("names", nargs=-1)
@namespace_option
@all_namespaces_option
@click.option("-l", "--selector", default=None, help="Label selector.")
@click.option("--sort-by", type=click.Choice(SORT_KEYS), default=None)
@pass_cli
def top_pods(cli: CliContext, names: tuple[str, ...], namespace: str | None,
             all_namespaces: bool, selector: str | None, sort_by: str | None) -> None:
    """CPU and memory use of pods."""
    ns = None if all_namespaces else cli.namespace_for(namespace)
    pods = cli.client().list(lookup("pods"), ns, label_selector=selector).get("items") or []
    if names:
        pods = [p for p in pods if p.get("metadata", {}).get("name") in names]
    rows = []
    for pod in pods:
        row = printers.top_pod_row(pod)
        if row is not None:
            rows.append(([pod["metadata"].get("namespace", "")] if all_namespaces else []) + row)
    if not rows:
        where = "" if all_namespaces else f" in namespace {ns}"
        raise CliError(f"metrics not available yet (no pod reports usage{where})")
    offset = 1 if all_namespaces else 0
    rows = _sort(rows, sort_by, 1 + offset, 2 + offset)
    header = (["NAMESPACE"] if all_namespaces else []) + ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    for line in printers.render_table([header, *rows]):
        click.echo(line)
