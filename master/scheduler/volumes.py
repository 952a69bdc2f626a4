"""Volume binding in the scheduler (kube-scheduler's VolumeBinding plugin, reduced).

The filter admits a node for a pod's persistentVolumeClaim volumes when every
bound claim's volume has node affinity to it, and every unbound claim can be
satisfied there: by an available volume that fits, or, for a class with
``volumeBindingMode: WaitForFirstConsumer``, by provisioning on that node. An
unbound claim of an ``Immediate`` class waits for the PV controller.

``select_node`` runs just before the pod is bound: it names the chosen node
on each unbound WaitForFirstConsumer claim (``volume.kubernetes.io/selected-node``)
so the PV controller binds or provisions there; the pod's node then waits
(ContainerCreating) until the claim is bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.informer import Informer
from coxapi.meta import is_terminating

from ..objects import ObjectStore
from ..storage import binder
from ..storage.localpath import PROVISIONER, SELECTED_NODE, root_of
from .filters import skipped_when
from .snapshot import NodeInfo

Obj = dict[str, Any]

AFFINITY_CONFLICT = "node(s) had volume node affinity conflict"
NO_VOLUME = "node(s) didn't find available persistent volumes to bind"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"


def claim_names(pod: Obj) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"]
            for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


class VolumeBinding:
    def __init__(self, objects: ObjectStore, claims: Informer, volumes: Informer,
                 classes: Informer, on_change: Callable[[], None]) -> None:
        self.objects = objects
        self.claims, self.volumes, self.classes = claims, volumes, classes
        for inf in (claims, volumes, classes):  # a claim bound may make a pod schedulable
            inf.add_handler(lambda o: on_change(), lambda old, new: on_change(), None)

    def _wait_for_consumer(self, claim: Obj) -> tuple[bool, Obj | None]:
        sc = self.classes.get(binder.claim_class(claim, self._default()))
        return (sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"), sc

    def _default(self) -> str | None:
        return binder.default_class_name(self.classes.list())

    @skipped_when(lambda pod: not claim_names(pod))
    def filter(self, pod: Obj, info: NodeInfo) -> list[str]:
        ns = pod["metadata"].get("namespace")
        for name in claim_names(pod):
            claim = self.claims.get(f"{ns}/{name}")
            if claim is None:
                return [f'persistentvolumeclaim "{name}" not found']
            if is_terminating(claim):
                return [f'persistentvolumeclaim "{name}" is being deleted']
            bound = (claim.get("spec") or {}).get("volumeName")
            if bound:
                pv = self.volumes.get(bound)
                if pv is None:
                    return [f'persistentvolume "{bound}" not found']
                if not binder.node_admits(pv, info.node):
                    return [AFFINITY_CONFLICT]
                continue
            wait, sc = self._wait_for_consumer(claim)
            if not wait:
                return [UNBOUND_IMMEDIATE]
            if binder.best_volume(claim, self.volumes.list(), self._default(), info.node):
                continue
            if sc is None or sc.get("provisioner") != PROVISIONER or not root_of(info.node):
                return [NO_VOLUME]
        return []

    def select_node(self, pod: Obj, node: str) -> None:
        """Name ``node`` on the pod's unbound WaitForFirstConsumer claims."""
        ns = pod["metadata"].get("namespace")
        for name in claim_names(pod):
            claim = self.claims.get(f"{ns}/{name}")
            if claim is None or (claim.get("spec") or {}).get("volumeName") \
                    or not self._wait_for_consumer(claim)[0]:
                continue
            if (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE) == node:
                continue

            def mark(cur: Obj) -> Obj | None:
                if (cur.get("spec") or {}).get("volumeName"):
                    return None
                cur["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node
                return cur
            try:
                self.objects.guaranteed_update("PersistentVolumeClaim", ns, name, mark)
            except errors.NotFound:
                pass
