"""What every command shares: the resolved kubeconfig, the client, the clock.

The top-level group puts a ``CliContext`` in ``ctx.obj``; commands take it
with ``@pass_cli``. Settings and the client are built lazily, so ``--help``
and usage errors never need a kubeconfig.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click

from coxapi.client import Client

from .. import kubeconfig


@dataclass
class CliContext:
    kubeconfig_path: str | None = None
    context_name: str | None = None
    namespace: str | None = None  # the group-level -n
    servers_override: list[str] = field(default_factory=list)
    timeout: float = 10.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    sleep: Callable[[float], None] = time.sleep
    _settings: kubeconfig.Settings | None = None
    _client: Client | None = None

    def settings(self) -> kubeconfig.Settings:
        if self._settings is None:
            if self.servers_override:
                try:
                    base = kubeconfig.resolve(kubeconfig.load(self.kubeconfig_path),
                                              self.context_name)
                except kubeconfig.KubeconfigError:
                    base = kubeconfig.Settings(servers=[])
                self._settings = kubeconfig.Settings(
                    servers=[s.rstrip("/") for s in self.servers_override], token=base.token,
                    namespace=base.namespace, context=base.context, ca_file=base.ca_file)
            else:
                self._settings = kubeconfig.resolve(kubeconfig.load(self.kubeconfig_path),
                                                    self.context_name)
        return self._settings

    @property
    def known_servers(self) -> list[str]:
        """The servers, if they were resolved (for error messages); never raises."""
        return list(self._settings.servers) if self._settings else list(self.servers_override)

    def client(self) -> Client:
        if self._client is None:
            s = self.settings()
            self._client = Client(s.servers, s.token, timeout=self.timeout, user_agent="cox",
                                  ca_file=s.ca_file)
        return self._client

    def namespace_for(self, explicit: str | None) -> str:
        return explicit or self.namespace or self.settings().namespace or "default"

    def now(self) -> datetime:
        return self.clock()


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def namespace_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-n", "--namespace", "namespace", default=None, metavar="NS",
                        help="Namespace (default: the context's, else 'default').")(fn)


def all_namespaces_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-A", "--all-namespaces", "all_namespaces", is_flag=True,
                        help="List across all namespaces.")(fn)


def filename_option(required: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("-f", "--filename", "filenames", multiple=True, required=required,
                        metavar="FILE|DIR|-",
                        help="Manifest file, directory of *.yaml/*.yml/*.json, or - for stdin. "
                             "Repeatable.")
