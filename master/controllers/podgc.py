"""Pod garbage collection: pods bound to nodes that no longer exist are
deleted at once (nothing can stop them), as are unbound pods that are
terminating; finished pods beyond ``terminated_pod_gc_threshold`` are
deleted oldest first."""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors, timefmt
from coxapi.meta import is_terminating

from . import pods as podutil
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class PodGarbageCollector(Controller):
    name = "pod-garbage-collector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.period = self.config.pod_gc_period
        self.pods = ctx.informers["Pod"]
        self.nodes = ctx.informers["Node"]

    def periodic(self) -> None:
        self.queue.add("gc")

    def reconcile(self, key: str) -> float | None:
        self.collect()
        return None

    def collect(self) -> int:
        deleted = 0
        now = self.config.clock()
        pods = self.pods.list()
        finished = []
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName")
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                finished.append(pod)
            if node and self.nodes.get(node) is None and not self._node_exists(node):
                podutil.delete_pod(self.objects, pod, now, grace=0)
                self.events.normal(pod, "PodGC", f"Deleted pod of vanished node {node}")
                deleted += 1
            elif not node and is_terminating(pod):
                podutil.delete_pod(self.objects, pod, now, grace=0)
                deleted += 1
        extra = len(finished) - self.config.terminated_pod_gc_threshold
        if extra > 0:
            finished.sort(key=lambda p: timefmt.parse_epoch(p["metadata"].get("creationTimestamp")) or 0)
            for pod in finished[:extra]:
                podutil.delete_pod(self.objects, pod, now, grace=0)
                deleted += 1
        return deleted

    def _node_exists(self, name: str) -> bool:
        try:
            self.objects.get("Node", None, name)
            return True
        except errors.NotFound:
            return False
