"""Namespace controller: a namespace being deleted (deletionTimestamp set)
is emptied — every namespaced object in it deleted, pods gracefully — and
then removed, once nothing is left in it."""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors, kinds
from coxapi.meta import is_terminating

from . import pods as podutil
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
FINALIZER = "kubernetes"


class NamespaceController(Controller):
    name = "namespace-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informers["Namespace"]
        self.namespaces.add_handler(**self.handlers())

    def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get(key)
        if ns is None or not is_terminating(ns):
            return None
        remaining = 0
        # Events go last so the deletions above them can still be recorded.
        ordered = sorted((k for k in kinds.KINDS if k.namespaced),
                         key=lambda k: k.strategy.delete_last)
        for kind in ordered:
            items, _, _ = self.objects.list(kind, key)
            for obj in items:
                remaining += 1
                name = obj["metadata"]["name"]
                if kind.strategy.graceful_deletion:
                    if not is_terminating(obj):
                        podutil.delete_pod(self.objects, obj, self.config.clock())
                    continue
                try:
                    self.objects.delete(kind, key, name)
                    remaining -= 1
                except errors.NotFound:
                    remaining -= 1
        if remaining:
            return 1.0  # pods are still stopping on their nodes
        uid = ns["metadata"].get("uid")

        def finalize(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            spec = cur.setdefault("spec", {})
            fins = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
            if fins == (spec.get("finalizers") or []):
                return None
            spec["finalizers"] = fins
            return cur
        cur = self.objects.guaranteed_update("Namespace", None, key, finalize)
        if (cur.get("spec") or {}).get("finalizers") or cur["metadata"].get("finalizers"):
            return 5.0  # someone else's finalizer still holds it
        try:
            self.objects.delete("Namespace", None, key,
                                expect_resource_version=cur["metadata"]["resourceVersion"])
        except errors.NotFound:
            pass
        log.info("namespace-controller: namespace %s deleted", key)
        return None
