"""The in-process ObjectStore seen through the informer's list/watch
protocol (``coxapi.informer.ListWatcher``), the shape of the HTTP client.

A quiet watch yields a ``BOOKMARK`` every ``poll`` seconds, as the API
server does on its streams, so the informer sees progress and can stop.

With ``metadata_only`` each object is cut to its type and metadata after
the selectors have seen it (Kubernetes' metadata informers, which its
garbage collector uses): a cache of ConfigMaps or Secrets then holds neither
their data nor, for Secrets, anything decrypted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from coxapi import labels

from .api import fields
from .objects import ObjectStore

Obj = dict[str, Any]


class StoreListWatcher:
    may_stall = False  # a quiet watch yields a bookmark every ``poll``

    def __init__(self, objects: ObjectStore, poll: float = 0.1,
                 metadata_only: bool = False) -> None:
        self.objects = objects
        self.poll = poll
        self.metadata_only = metadata_only

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None, resource_version: str | None = None) -> Obj:
        """Always consistent (``resource_version`` is accepted and ignored)."""
        selector = labels.parse_selector(label_selector)
        by_fields = fields.parse(field_selector, kind)
        items, rv, _ = self.objects.list(kind, namespace, selector=selector,
                                         predicate=lambda o: fields.matches(by_fields, o))
        if self.metadata_only:
            items = [metadata_of(o) for o in items]
        return {"items": items, "metadata": {"resourceVersion": rv}}

    def watch(self, kind: str, namespace: str | None = None,
              resource_version: str | None = None, label_selector: str | None = None,
              field_selector: str | None = None,
              timeout_seconds: int | None = None) -> Iterator[tuple[str, Obj]]:
        selector = labels.parse_selector(label_selector)
        by_fields = fields.parse(field_selector, kind)
        deadline = time.monotonic() + timeout_seconds if timeout_seconds else None
        last = resource_version or "0"
        for item in self.objects.watch(
                kind, namespace, resource_version=resource_version, poll=self.poll,
                stop=lambda: deadline is not None and time.monotonic() >= deadline):
            if item is None:
                yield "BOOKMARK", {"kind": kind, "metadata": {"resourceVersion": last}}
                continue
            etype, obj = item
            last = obj["metadata"]["resourceVersion"]
            if (labels.matches(selector, obj["metadata"].get("labels"))
                    and fields.matches(by_fields, obj)):
                yield etype, metadata_of(obj) if self.metadata_only else obj


def metadata_of(obj: Obj) -> Obj:
    """``obj`` as a metadata informer keeps it: type and metadata only."""
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": obj["metadata"]}
