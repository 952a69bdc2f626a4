"""``cox apply -f`` (create or update to match the manifests) and ``cox create -f``."""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable
from typing import Any

import click

from coxapi import errors as api
from coxapi.client import Client
from coxapi.kinds import lookup
from coxapi.retry import retry_on_conflict

from .. import manifests, printers
from ..errors import ReportedError, UsageFailure, api_error_code, api_error_line
from . import merge
from .context import CliContext, filename_option, namespace_option, pass_cli

Obj = dict[str, Any]


def place(m: manifests.Manifest, cli: CliContext, namespace: str | None) -> tuple[Obj, str | None]:
    """The object with its namespace settled: the manifest's, else -n, else the context's."""
    obj = copy.deepcopy(m.obj)
    if not m.kind.namespaced:
        obj["metadata"].pop("namespace", None)
        return obj, None
    own = obj["metadata"].get("namespace")
    wanted = namespace or cli.namespace
    if own and wanted and own != wanted:
        raise UsageFailure(f'{m.where}: the namespace from the provided object "{own}" does not '
                           f'match the namespace "{wanted}". You must pass '
                           f"'--namespace={own}' to perform this operation.")
    ns = own or cli.namespace_for(namespace)
    obj["metadata"]["namespace"] = ns
    return obj, ns


def apply_one(client: Client, obj: Obj, ns: str | None, dry_run: bool) -> str:
    """Create or patch one object; returns kubectl's verb: created/configured/unchanged."""
    kind = lookup(obj["kind"])
    name = obj["metadata"]["name"]

    def attempt() -> str:
        try:
            live = client.get(kind, name, ns)
        except api.NotFound:
            if dry_run:
                return "created"
            try:
                client.create(merge.with_last_applied(obj), namespace=ns)
                return "created"
            except api.AlreadyExists:  # created meanwhile by someone else: apply over it
                live = client.get(kind, name, ns)
        patch = merge.apply_patch(merge.last_applied_of(live), obj, live)
        if not patch:
            return "unchanged"
        if dry_run:
            return "configured"
        # The live resourceVersion makes the patch conditional: a concurrent writer
        # gives a Conflict and we merge again against the new live object.
        patch.setdefault("metadata", {})["resourceVersion"] = live["metadata"].get(
            "resourceVersion")
        client.patch(kind, name, patch, ns)
        return "configured"
    return retry_on_conflict(attempt)


def create_one(client: Client, obj: Obj, ns: str | None, dry_run: bool) -> str:
    if not dry_run:
        client.create(obj, namespace=ns)
    return "created"


def run_each(cli: CliContext, filenames: tuple[str, ...], namespace: str | None, validate: bool,
             dry_run: bool, verb: str, action: Callable[[Client, Obj, str | None, bool], str]
             ) -> None:
    """Run ``action`` on every manifest, reporting each; an API error on one object does
    not stop the others (as in kubectl), but decides the exit code."""
    if not filenames:
        raise UsageFailure("must specify -f FILE|DIR|-")
    items = manifests.load(filenames, sys.stdin, validate=validate, verb=verb)
    placed = [(m, *place(m, cli, namespace)) for m in items]
    client = cli.client()
    failures: list[api.ApiError] = []
    for m, obj, ns in placed:
        try:
            result = action(client, obj, ns, dry_run)
        except (api.Unauthorized, api.Forbidden, api.Unavailable):
            raise
        except api.ApiError as e:
            failures.append(e)
            click.echo(api_error_line(e) if not isinstance(e, api.Invalid)
                       else f"{m.where}: {api_error_line(e)}", err=True)
            continue
        suffix = " (dry run)" if dry_run else ""
        click.echo(f"{printers.object_ref(m.kind, m.name)} {result}{suffix}")
    if failures:
        raise ReportedError(f"error: {len(failures)} of {len(placed)} objects failed",
                            api_error_code(failures[0]))


_validate = click.option("--validate/--no-validate", default=True, show_default=True,
                         help="Check manifests on the client before sending them.")
_dry_run = click.option("--dry-run", is_flag=True, help="Only print what would be done.")


@click.command()
@filename_option()
@namespace_option
@_validate
@_dry_run
@pass_cli
def apply(cli: CliContext, filenames: tuple[str, ...], namespace: str | None, validate: bool,
          dry_run: bool) -> None:
    """Create objects, or update them to match the manifests.

    The last applied manifest is kept in the annotation
    kubectl.kubernetes.io/last-applied-configuration, so fields removed from a
    manifest are removed from the object on the next apply (a three-way merge);
    fields set by others are left alone.

    \b
    Examples:
      cox apply -f web.yaml
      cox apply -f manifests/
      cat web.yaml | cox apply -f -
    """
    run_each(cli, filenames, namespace, validate, dry_run, "apply", apply_one)


@click.command()
@filename_option()
@namespace_option
@_validate
@_dry_run
@pass_cli
def create(cli: CliContext, filenames: tuple[str, ...], namespace: str | None, validate: bool,
           dry_run: bool) -> None:
    """Create objects from manifests (fails for objects that already exist)."""
    run_each(cli, filenames, namespace, validate, dry_run, "create", create_one)
