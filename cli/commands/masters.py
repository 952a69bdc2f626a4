"""``cox master add`` / ``cox master remove`` / ``cox master members``: the
Raft membership at run time, through the leader's ``/raft/members``
(docs/membership.md). The client moves on from a master that is not the
leader (it answers 503 NotApplied naming the leader), and asks again for a
while when none is (an election after the leader died)."""

from __future__ import annotations

import time
from typing import Any

import click

from coxapi import errors as api
from coxapi.client import Client

from .. import printers
from ..errors import ReportedError
from .cluster_status import probe
from .context import CliContext, pass_cli

PATH = "/raft/members"
CHANGE_TIMEOUT = 90.0  # seconds: a new master may take a while to catch up
# seconds a change waits for a leader: right after the leader died (the master
# being replaced, often) the others still name it for an election timeout or two
LEADER_WAIT = 15.0


def _client(cli: CliContext) -> Client:
    s = cli.settings()
    return Client(s.servers, s.token, timeout=max(cli.timeout, CHANGE_TIMEOUT),
                  user_agent="cox", ca_file=s.ca_file)


def member_rows(view: dict[str, Any], names: dict[str, str]) -> list[list[str]]:
    """The members table: voter or learner, reachable from the leader, and how
    far each has the log (match index) against the leader's commit index."""
    commit = int(view.get("commit_index") or 0)
    rows = [["", "NAME", "RAFT ADDRESS", "ROLE", "REACHABLE", "MATCH", "COMMIT", "CATCH-UP"]]
    for m in view.get("members") or []:
        match = m.get("match_index")
        if match is None:
            state = "unknown"
        elif match >= commit:
            state = "caught up"
        else:
            state = f"{commit - match} behind"
        rows.append(["*" if m["id"] == view.get("leader") else "", names.get(m["id"], "?"),
                     m["id"], "voter" if m.get("voter") else "learner",
                     "yes" if m.get("connected") else "no",
                     "-" if match is None else str(match), str(commit), state])
    return rows


def raft_names(cli: CliContext) -> dict[str, str]:
    """Raft address -> master name, from every reachable master's /status/raft."""
    s = cli.settings()
    names = {}
    for server in s.servers:
        st = probe(server, s.token, ca_file=s.ca_file).status or {}
        if st.get("id"):
            names[str(st["id"])] = str(st.get("name") or "?")
    return names


def _fail(e: api.ApiError) -> ReportedError:
    return ReportedError(f"error: {e.reason}: {e.message} (nothing was changed)"
                         if e.code < 500 or api.is_not_applied(e) else f"error: {e.message}")


def leader_wait(e: api.ApiError) -> float | None:
    """Seconds to wait before asking again when ``e`` says no master could make
    the change because none is the leader it knows (503 NotApplied naming the
    leader: an election may be under way, the leader may have just died); None
    for any other error. Asking again is safe: nothing was changed."""
    details = e.details or {}
    if e.code != 503 or not api.is_not_applied(e) or "leader" not in details:
        return None
    return float(details.get("retryAfterSeconds") or 1)


def _call(cli: CliContext, method: str, path: str, body: Any = None) -> dict[str, Any]:
    client = _client(cli)
    deadline = time.monotonic() + LEADER_WAIT
    try:
        while True:
            try:
                return client.request(method, path, body=body)
            except api.ApiError as e:
                wait = leader_wait(e)
                if wait is None or time.monotonic() + wait > deadline:
                    raise _fail(e) from None
                time.sleep(wait)
    finally:
        client.close()


def _show(view: dict[str, Any], names: dict[str, str]) -> None:
    for line in printers.render_table(member_rows(view, names)):
        click.echo(line)


@click.command("members")
@pass_cli
def members_command(cli: CliContext) -> None:
    """Show the Raft members, as the leader sees them."""
    view = _call(cli, "GET", PATH)
    _show(view, raft_names(cli))


@click.command("add")
@click.option("--address", required=True, metavar="HOST:RAFTPORT",
              help="The new master's Raft address (its --raft).")
@click.option("--api", "api_url", required=True, metavar="URL",
              help="The new master's API URL: checked to be that master before the change.")
@pass_cli
def add_command(cli: CliContext, address: str, api_url: str) -> None:
    """Add a running master to the Raft members. Start it first with --raft
    ADDRESS and a --peer for each current member; it catches up as a learner
    and only then becomes a voting member."""
    s = cli.settings()
    new = probe(api_url, s.token, ca_file=s.ca_file)
    if new.status is None:
        raise ReportedError(f"error: the new master at {api_url} does not answer: "
                            f"{new.problem} (nothing was changed)")
    if new.status.get("id") != address:
        raise ReportedError(f"error: the master at {api_url} has Raft address "
                            f"{new.status.get('id')}, not {address} (nothing was changed)")
    view = _call(cli, "POST", PATH, {"address": address})
    click.echo(f"added {new.status.get('name') or address} ({address}); add {api_url} to "
               f"the servers of your kubeconfig; node agents learn it from the cluster "
               f"(docs/membership.md)")
    _show(view, {**raft_names(cli), address: str(new.status.get("name") or "?")})


@click.command("remove")
@click.argument("member", metavar="NAME|HOST:RAFTPORT")
@pass_cli
def remove_command(cli: CliContext, member: str) -> None:
    """Remove a master from the Raft members (by name or Raft address). Stop
    its process afterwards."""
    names = raft_names(cli)
    address = member
    if ":" not in member:
        by_name = [a for a, n in names.items() if n == member]
        if not by_name:
            raise ReportedError(f"error: no reachable master is named {member}; give its "
                                f"Raft address (HOST:RAFTPORT) instead (nothing was changed)")
        address = by_name[0]
    view = _call(cli, "DELETE", f"{PATH}/{address}")
    click.echo(f"removed {member} ({address}); stop its process and drop its URL from "
               f"the kubeconfig (node agents follow on their own)")
    _show(view, names)
