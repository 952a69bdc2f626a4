"""ResourceQuota controller: keep each quota's ``status`` (``hard`` as the
spec says, ``used`` as counted in its namespace).

Admission only ever adds to ``used`` (master.admission.quota); this recounts,
so what deleted objects and finished pods held comes back: at once for pods
(their deletions and completions are watched) and every ``period`` seconds
for everything else, as Kubernetes' resync does.

A recount reads the quota first, then lists the namespace (both the latest):
a create charged after the quota was read moves the quota, so the
compare-and-swap of the recount fails and it counts again; one charged before
is in the list. So a recount never forgets a charge.
"""

from __future__ import annotations

import logging
from typing import Any

from coxapi import kinds, quotas
from coxapi.meta import key_of

from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class ResourceQuotaController(Controller):
    name = "resourcequota-controller"
    period = 30.0  # seconds between full recounts

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.quotas = ctx.informers["ResourceQuota"]
        self.quotas.add_handler(**self.handlers())
        pods = ctx.informers["Pod"]
        pods.add_handler(None, self._pod_updated, self._pod_gone)

    def _namespace_changed(self, namespace: str | None) -> None:
        for q in self.quotas.list(namespace):
            self.queue.add(key_of(q))

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        pod = kinds.lookup("Pod").strategy
        if pod.uses_quota(old) and not pod.uses_quota(new):
            self._namespace_changed(new["metadata"].get("namespace"))

    def _pod_gone(self, pod: Obj) -> None:
        self._namespace_changed(pod["metadata"].get("namespace"))

    def periodic(self) -> None:
        for q in self.quotas.list():
            self.queue.add(key_of(q))

    def reconcile(self, key: str) -> float | None:
        namespace, _, name = key.partition("/")
        quota = self.objects.get("ResourceQuota", namespace, name)  # NotFound: done
        spec_hard = (quota.get("spec") or {}).get("hard") or {}
        status = {"hard": dict(spec_hard),
                  "used": quotas.formatted(self.count(namespace, list(spec_hard)))}
        if quota.get("status") != status:
            quota["status"] = status
            self.objects.update(quota)  # at the version read: a charge since is a Conflict
        return None

    def count(self, namespace: str, resources: list[str]) -> dict[str, int]:
        """What the namespace's objects use of each resource, now."""
        used = dict.fromkeys(resources, 0)
        wanted: dict[str, kinds.Kind] = {}
        for r in resources:
            k = kinds.lookup("Pod") if r in quotas.COMPUTE else quotas.counted_kind(r)
            if k is not None:
                wanted[k.kind] = k
        for k in wanted.values():
            for obj in self.objects.list(k, namespace).items:
                for r, n in quotas.usage(k, obj, resources).items():
                    used[r] += n
        return used
