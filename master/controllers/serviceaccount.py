"""ServiceAccounts controller: every active namespace has a ``default``
ServiceAccount (recreated if deleted), as Kubernetes' does."""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors
from coxapi.meta import is_terminating

from .base import Context, Controller

log = logging.getLogger(__name__)
Obj = dict[str, Any]
DEFAULT = "default"


class ServiceAccountsController(Controller):
    name = "serviceaccounts-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informers["Namespace"]
        self.accounts = ctx.informers["ServiceAccount"]
        self.namespaces.add_handler(**self.handlers())
        self.accounts.add_handler(on_delete=self._account_deleted)

    def _account_deleted(self, sa: Obj) -> None:
        meta = sa.get("metadata") or {}
        if meta.get("name") == DEFAULT and meta.get("namespace"):
            self.queue.add(meta["namespace"])

    def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get(key)
        if ns is None or is_terminating(ns):
            return None
        if self.accounts.get(f"{key}/{DEFAULT}") is not None:
            return None
        try:
            self.objects.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": DEFAULT, "namespace": key}})
            log.info("created serviceaccount %s/%s", key, DEFAULT)
        except errors.AlreadyExists:
            pass
        return None
