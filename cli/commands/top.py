"""``cox top nodes|pods``: resource usage from the Metrics API (``metrics.k8s.io/v1beta1``),
the same figures ``kubectl top`` shows."""

from __future__ import annotations

from typing import Any

import click

from coxapi import errors, quantity
from coxapi.client import Client
from coxapi.kinds import lookup

from .. import printers
from ..errors import EXIT_NOT_FOUND, CliError
from .context import CliContext, all_namespaces_option, namespace_option, pass_cli

SORT_KEYS = ("cpu", "memory")
METRICS = "/apis/metrics.k8s.io/v1beta1"
Obj = dict[str, Any]


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


def _metrics(client: Client, path: str, selector: str | None) -> list[Obj]:
    params = {"labelSelector": selector} if selector else None
    try:
        return client.request("GET", METRICS + path, params=params).get("items") or []
    except errors.NotFound:
        raise CliError("Metrics API not available") from None


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
    client = cli.client()
    usage = {m["metadata"]["name"]: m.get("usage") for m in _metrics(client, "/nodes", selector)}
    nodes = client.list(lookup("nodes"), label_selector=selector).get("items") or []
    if names:
        nodes = [n for n in nodes if n.get("metadata", {}).get("name") in names]
        missing = set(names) - {n["metadata"]["name"] for n in nodes}
        if missing:
            raise CliError(f'nodes "{sorted(missing)[0]}" not found', EXIT_NOT_FOUND)
    if not usage or not nodes:
        raise CliError("metrics not available yet")
    rows = _sort([printers.top_node_row(n, usage.get(n["metadata"]["name"])) for n in nodes],
                 sort_by, 1, 3)
    header = ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]
    for line in printers.render_table([header, *rows]):
        click.echo(line)


@top.command("pods")
@click.argument("names", nargs=-1)
@namespace_option
@all_namespaces_option
@click.option("-l", "--selector", default=None, help="Label selector.")
@click.option("--containers", is_flag=True, help="One line per container.")
@click.option("--sort-by", type=click.Choice(SORT_KEYS), default=None)
@pass_cli
def top_pods(cli: CliContext, names: tuple[str, ...], namespace: str | None,
             all_namespaces: bool, selector: str | None, containers: bool,
             sort_by: str | None) -> None:
    """CPU and memory use of pods (or of their containers)."""
    ns = None if all_namespaces else cli.namespace_for(namespace)
    metrics = _metrics(cli.client(), f"/namespaces/{ns}/pods" if ns else "/pods", selector)
    if names:
        metrics = [m for m in metrics if m["metadata"]["name"] in names]
    rows = []
    for m in sorted(metrics, key=lambda m: (m["metadata"].get("namespace", ""),
                                            m["metadata"]["name"])):
        lead = [m["metadata"].get("namespace", "")] if all_namespaces else []
        if containers:
            rows += [lead + [m["metadata"]["name"], c.get("name", ""),
                             *printers.top_usage_cells(c.get("usage"))]
                     for c in m.get("containers") or []]
        else:
            rows.append(lead + [m["metadata"]["name"],
                                *printers.top_usage_cells(printers.pod_metrics_usage(m))])
    if not rows:
        where = "" if all_namespaces else f" in namespace {ns}"
        raise CliError(f"metrics not available yet (no pod reports usage{where})")
    offset = (1 if all_namespaces else 0) + (1 if containers else 0)
    rows = _sort(rows, sort_by, 1 + offset, 2 + offset)
    header = (["NAMESPACE"] if all_namespaces else []) + (["POD", "NAME"] if containers
                                                          else ["NAME"]) + \
        ["CPU(cores)", "MEMORY(bytes)"]
    for line in printers.render_table([header, *rows]):
        click.echo(line)
