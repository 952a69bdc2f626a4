"""Garbage collector: dependents whose owners are all gone are deleted
(background propagation); references to some-but-not-all vanished owners
are dropped. Owners marked for foreground deletion (the
``foregroundDeletion`` finalizer) are removed once their dependents are.

An owner missing from a cache may only be late, so before deleting
anything the owner is looked up in the store itself (as Kubernetes' GC
does with an uncached GET).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from coxapi import errors, kinds
from coxapi.meta import is_terminating

from ..admission.deletion import FOREGROUND
from . import pods as podutil
from .base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
# kinds whose objects have owners here (and so are watched)
DEPENDENT_KINDS = ("Pod", "ReplicaSet", "Endpoints", "ConfigMap", "Secret", "Service", "Job")
OWNER_KINDS = ("Deployment", "ReplicaSet", "CronJob", "DaemonSet", "StatefulSet")
# Kinds no other loop watches: the collector needs only their metadata, so it
# keeps no ConfigMap data and no decrypted Secret (Kubernetes' GC watches
# every kind through metadata informers). The others share the full
# informers their controllers keep anyway.
METADATA_ONLY = ("ConfigMap", "Secret")


def owner_uids(obj: Obj) -> list[str]:
    return [r.get("uid", "") for r in obj.get("metadata", {}).get("ownerReferences") or []]


class GarbageCollector(Controller):
    name = "garbage-collector"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.informers = {k: ctx.informers.metadata(k) if k in METADATA_ONLY else ctx.informers[k]
                          for k in (*DEPENDENT_KINDS, *OWNER_KINDS)}
        for kind in DEPENDENT_KINDS:
            inf = self.informers[kind]
            inf.add_index("ownerUID", owner_uids)
            inf.add_handler(partial(self._dependent, kind),
                            partial(self._dependent_updated, kind), None)
        for kind in set(DEPENDENT_KINDS) | set(OWNER_KINDS):
            self.informers[kind].add_handler(
                None, partial(self._owner_updated, kind), self._owner_gone)

    # keys: "dep|Kind|ns|name" (check a dependent) or "owner|Kind|ns|name" (foreground)

    def _dependent(self, kind: str, obj: Obj) -> None:
        if obj["metadata"].get("ownerReferences"):
            m = obj["metadata"]
            self.queue.add(f"dep|{kind}|{m.get('namespace', '')}|{m['name']}")

    def _dependent_updated(self, kind: str, old: Obj, new: Obj) -> None:
        self._dependent(kind, new)

    def _owner_updated(self, kind: str, old: Obj, new: Obj) -> None:
        self._owner_changed(kind, new)

    def _owner_gone(self, owner: Obj) -> None:
        uid = owner["metadata"].get("uid", "")
        for kind in DEPENDENT_KINDS:
            for dep in self.informers[kind].by_index("ownerUID", uid):
                self._dependent(kind, dep)
        # a dependent gone may be the last one an owner in foreground deletion waits for
        ns = owner["metadata"].get("namespace")
        for r in owner["metadata"].get("ownerReferences") or []:
            inf = self.informers.get(r.get("kind", ""))
            waiting = inf.get_by(ns, r.get("name", "")) if inf is not None else None
            if waiting is not None and waiting["metadata"].get("uid") == r.get("uid"):
                self._owner_changed(r["kind"], waiting)

    def _owner_changed(self, kind: str, owner: Obj) -> None:
        m = owner["metadata"]
        if is_terminating(owner) and FOREGROUND in (m.get("finalizers") or []):
            self.queue.add(f"owner|{kind}|{m.get('namespace', '')}|{m['name']}")

    def reconcile(self, key: str) -> float | None:
        what, kind, ns, name = key.split("|", 3)
        if what == "owner":
            return self._foreground(kind, ns or None, name)
        return self._check_dependent(kind, ns or None, name)

    def _owner_exists(self, ref: Obj, namespace: str | None) -> bool:
        """Look the owner up in the store itself; same name but another uid is gone."""
        try:
            k = kinds.lookup(ref.get("kind", ""))
        except kinds.UnknownKind:
            return False
        try:
            owner = self.objects.get(k, namespace if k.namespaced else None, ref.get("name", ""))
        except errors.NotFound:
            return False
        return owner["metadata"].get("uid") == ref.get("uid")

    def _check_dependent(self, kind: str, ns: str | None, name: str) -> float | None:
        obj = self.informers[kind].get_by(ns, name)
        if obj is None or is_terminating(obj):
            return None
        refs = obj["metadata"].get("ownerReferences") or []
        if not refs:
            return None
        # the cache says present: trust it; absent: confirm with the store
        cached = {o["metadata"].get("uid") for k in OWNER_KINDS for o in self.informers[k].list(ns)}
        dangling = [r for r in refs
                    if r.get("uid") not in cached and not self._owner_exists(r, ns)]
        if not dangling:
            return None
        uid = obj["metadata"].get("uid")
        if len(dangling) == len(refs):
            owner = dangling[0]
            if kinds.lookup(kind).strategy.graceful_deletion:
                podutil.delete_pod(self.objects, obj, self.config.clock())
            else:
                try:
                    self.objects.delete(kind, ns, name,
                                        expect_resource_version=obj["metadata"]["resourceVersion"])
                except errors.NotFound:
                    return None
            log.info("garbage-collector: deleted %s %s/%s: its owner %s %s is gone",
                     kind, ns, name, owner.get("kind"), owner.get("name"))
            return None
        gone = {r.get("uid") for r in dangling}

        def drop(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            cur["metadata"]["ownerReferences"] = [
                r for r in cur["metadata"].get("ownerReferences") or [] if r.get("uid") not in gone]
            return cur
        self.objects.guaranteed_update(kind, ns, name, drop)
        return None

    def _foreground(self, kind: str, ns: str | None, name: str) -> float | None:
        """Delete the dependents of an owner in foreground deletion; when none
        is left, drop the finalizer and remove the owner."""
        owner = self.informers[kind].get_by(ns, name)
        if owner is None or not is_terminating(owner):
            return None
        uid = owner["metadata"].get("uid", "")
        left = 0
        for dkind in DEPENDENT_KINDS:
            for dep in self.informers[dkind].by_index("ownerUID", uid):
                left += 1
                if is_terminating(dep):
                    continue
                if kinds.lookup(dkind).strategy.graceful_deletion:
                    podutil.delete_pod(self.objects, dep, self.config.clock())
                else:
                    try:
                        self.objects.delete(dkind, dep["metadata"].get("namespace"),
                                            dep["metadata"]["name"])
                    except errors.NotFound:
                        pass
        if left:
            return 1.0  # look again; dependents' deletions also wake us

        def unfinalize(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            fins = [f for f in cur["metadata"].get("finalizers") or [] if f != FOREGROUND]
            if fins:
                cur["metadata"]["finalizers"] = fins
            else:
                cur["metadata"].pop("finalizers", None)
            return cur
        cur = self.objects.guaranteed_update(kind, ns, name, unfinalize)
        if not cur["metadata"].get("finalizers"):
            try:
                self.objects.delete(kind, ns, name,
                                    expect_resource_version=cur["metadata"]["resourceVersion"])
            except errors.NotFound:
                pass
        return None
