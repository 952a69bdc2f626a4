"""``cox secrets reencrypt``: rewrite every Secret unchanged, so the masters
store each under the encryption key now first in their EncryptionConfiguration
(the last step of a key rotation, docs/security.md; Kubernetes' documented
``kubectl get secrets -A -o json | kubectl replace -f -``)."""

from __future__ import annotations

import click

from coxapi import errors
from coxapi.retry import retry_on_conflict

from .context import CliContext, pass_cli


@click.group()
def secrets() -> None:
    """Maintain Secrets."""


@secrets.command()
@pass_cli
def reencrypt(cli: CliContext) -> None:
    """Write every Secret back, encrypting it with the current first key."""
    client = cli.client()
    done = 0
    for item in client.list("secrets").get("items") or []:
        meta = item["metadata"]

        def rewrite(ns: str = meta["namespace"], name: str = meta["name"]) -> None:
            client.update(client.get("secrets", name, ns))
        try:
            retry_on_conflict(rewrite)
        except errors.NotFound:
            continue  # deleted meanwhile
        done += 1
    click.echo(f"{done} secrets rewritten")
