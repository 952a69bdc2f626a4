"""``cox cluster status``: every master's Raft view and every node's readiness.

``status_command`` is a plain ``click.Command`` named ``status``; ``cli.main``
attaches it to the ``cox cluster`` group.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click

from coxapi import errors as api
from coxapi.client import Client
from coxapi.kinds import lookup

from .. import printers
from ..errors import (
    EXIT_ERROR,
    EXIT_UNREACHABLE,
    ReportedError,
    connection_problem,
    failure_for,
    unreachable_line,
)
from .context import CliContext, pass_cli

Obj = dict[str, Any]
PROBE_TIMEOUT = 3.0


@dataclass
class MasterView:
    address: str
    status: Obj | None = None  # GET /status/raft, when it answered
    problem: str = ""  # why it did not


def probe(address: str, token: str | None, timeout: float = PROBE_TIMEOUT,
          ca_file: str | None = None) -> MasterView:
    """Ask one master (and only that one: no failover) for its Raft status."""
    client = Client([address], token, timeout=timeout, user_agent="cox", ca_file=ca_file)
    try:
        status = client.request("GET", "/status/raft")
    except api.ClusterUnreachable as e:
        return MasterView(address, problem=f"unreachable ({connection_problem(str(e))})")
    except api.ApiError as e:
        return MasterView(address, problem=f"error: {e.reason}: {e.message}")
    finally:
        client.close()
    if not isinstance(status, dict):
        return MasterView(address, problem="unexpected answer to /status/raft")
    return MasterView(address, status=status)


def master_rows(views: list[MasterView]) -> list[list[str]]:
    """The masters table; ``*`` marks the leader."""
    rows = [["", "NAME", "ADDRESS", "ROLE", "TERM", "COMMIT", "APPLIED", "STATUS"]]
    for v in views:
        s = v.status
        if s is None:
            rows.append(["", "?", v.address, "-", "-", "-", "-", v.problem])
            continue
        role = str(s.get("role", "?"))
        rows.append(["*" if role == "leader" else "", str(s.get("name") or s.get("id") or "?"),
                     v.address, role, str(s.get("term", "-")), str(s.get("commit_index", "-")),
                     str(s.get("applied_index", "-")),
                     "reachable" + "".join(f", alarm {a}" for a in s.get("alarms") or [])])
    return rows


def node_rows(nodes: list[Obj], now: datetime) -> list[list[str]]:
    rows = [["NODE", "STATUS", "ADDRESS", "AGE"]]
    return rows + [[n.get("metadata", {}).get("name", ""), printers.node_status(n),
                    printers.node_address(n, "InternalIP"), printers.created_age(n, now)]
                   for n in nodes]


def _members(views: list[MasterView], token: str | None, ca_file: str | None) -> None:
    """The Raft members and their catch-up state, as the leader sees them."""
    from .masters import member_rows

    leader = next((v for v in views if (v.status or {}).get("role") == "leader"), None)
    if leader is None:
        return
    client = Client([leader.address], token, timeout=PROBE_TIMEOUT, user_agent="cox",
                    ca_file=ca_file)
    try:
        view = client.request("GET", "/raft/members")
    except (api.ApiError, api.ClusterUnreachable) as e:
        click.echo(f"\nMEMBERS: the leader did not say ({e})")
        return
    finally:
        client.close()
    names = {str(v.status.get("id")): str(v.status.get("name")) for v in views if v.status}
    click.echo("\nMEMBERS (the leader's view)")
    for line in printers.render_table(member_rows(view, names)):
        click.echo(line)


@click.command("status")
@pass_cli
def status_command(cli: CliContext) -> None:
    """Show each master's Raft role, term and indexes, and each node's state."""
    settings = cli.settings()
    with ThreadPoolExecutor(max_workers=max(1, len(settings.servers))) as pool:
        views = list(pool.map(lambda a: probe(a, settings.token, ca_file=settings.ca_file),
                              settings.servers))
    click.echo("MASTERS")
    for line in printers.render_table(master_rows(views)):
        click.echo(line)
    reachable = [v for v in views if v.status is not None]
    if not reachable:
        raise ReportedError(unreachable_line(settings.servers, "no answer"), EXIT_UNREACHABLE)
    _members(views, settings.token, settings.ca_file)
    click.echo("")
    try:
        nodes = cli.client().list(lookup("nodes")).get("items") or []
    except (api.ApiError, api.ClusterUnreachable) as e:
        failure = failure_for(e, settings.servers)
        raise ReportedError(failure.line, failure.exit_code) from None
    if nodes:
        for line in printers.render_table(node_rows(nodes, cli.now())):
            click.echo(line)
    else:
        click.echo("No nodes registered.")
    if not any((v.status or {}).get("role") == "leader" for v in reachable):
        raise ReportedError("error: no master reports itself leader (is there a quorum?)",
                            EXIT_ERROR)
