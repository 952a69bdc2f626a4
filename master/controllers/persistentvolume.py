"""PersistentVolume controller: binds claims to volumes, provisions local-path
volumes, reclaims released ones and lifts claim protection.

- A claim without a volume binds to the best fitting one (master/storage/
  binder.py): the volume's ``claimRef`` is written first, then the claim's
  ``spec.volumeName`` and status, so a crash between leaves a pre-bound volume
  the next pass completes. A claim of no class gets the default class.
- No fitting volume and a class whose provisioner is the built-in local-path
  one: with ``WaitForFirstConsumer`` the volume is made once the scheduler
  named a node for a pod using the claim (``volume.kubernetes.io/selected-node``);
  with ``Immediate`` on the first Ready node.
- A volume whose claim is gone is ``Released``; with ``reclaimPolicy: Delete``
  its object is deleted (a local-path directory is then removed by its node).
- A terminating claim loses ``kubernetes.io/pvc-protection`` (and goes) once
  no pod that is not finished uses it.
"""

from __future__ import annotations

import logging
from typing import Any

from coxapi import errors
from coxapi.kinds.persistentvolumeclaim import PROTECTION
from coxapi.meta import is_terminating, key_of, node_is_ready

from ..scheduler.resources import pod_is_terminated
from ..storage import binder, localpath
from .base import Context, Controller

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PV_PREFIX = "pv|"


def pod_claims(pod: Obj) -> list[str]:
    """``namespace/claim`` of every persistentVolumeClaim volume of the pod."""
    ns = pod["metadata"].get("namespace")
    return [f"{ns}/{v['persistentVolumeClaim']['claimName']}"
            for v in (pod.get("spec") or {}).get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def claim_bound_to(claim: Obj, pv: Obj) -> bool:
    ref = (pv.get("spec") or {}).get("claimRef") or {}
    return (ref.get("uid") == claim["metadata"].get("uid")
            and (claim.get("spec") or {}).get("volumeName") == pv["metadata"]["name"])


class PersistentVolumeController(Controller):
    name = "persistentvolume-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.claims = ctx.informers["PersistentVolumeClaim"]
        self.volumes = ctx.informers["PersistentVolume"]
        self.classes = ctx.informers["StorageClass"]
        self.nodes = ctx.informers["Node"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index("claim", pod_claims)
        self.claims.add_handler(**self.handlers(self._claim_changed))
        self.volumes.add_handler(**self.handlers(self._volume_changed))
        self.classes.add_handler(on_add=lambda sc: self._all_claims())
        self.pods.add_handler(**self.handlers(self._pod_changed))

    def _claim_changed(self, claim: Obj) -> None:
        self.enqueue(claim)
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:  # a claim gone releases its volume
            self.queue.add(PV_PREFIX + volume)

    def _volume_changed(self, pv: Obj) -> None:
        self.queue.add(PV_PREFIX + pv["metadata"]["name"])
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add(f"{ref.get('namespace')}/{ref['name']}")

    def _pod_changed(self, pod: Obj) -> None:
        for key in pod_claims(pod):
            self.queue.add(key)

    def _all_claims(self) -> None:
        for claim in self.claims.list():
            self.enqueue(claim)

    # ---- reconcile -------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        if key.startswith(PV_PREFIX):
            pv = self.volumes.get(key[len(PV_PREFIX):])
            return self.sync_volume(pv) if pv is not None else None
        claim = self.claims.get(key)
        if claim is None:
            return None
        if is_terminating(claim):
            return self.release_protection(claim)
        return self.sync_claim(claim)

    def in_use(self, claim: Obj) -> bool:
        return any(not pod_is_terminated(p) for p in self.pods.by_index("claim", key_of(claim)))

    def release_protection(self, claim: Obj) -> float | None:
        if PROTECTION not in (claim["metadata"].get("finalizers") or []):
            return None
        if self.in_use(claim):
            return None  # a pod's change wakes us
        uid = claim["metadata"].get("uid")

        def unprotect(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            fins = [f for f in cur["metadata"].get("finalizers") or [] if f != PROTECTION]
            if fins:
                cur["metadata"]["finalizers"] = fins
            else:
                cur["metadata"].pop("finalizers", None)
            return cur
        ns, name = claim["metadata"].get("namespace"), claim["metadata"]["name"]
        cur = self.objects.guaranteed_update("PersistentVolumeClaim", ns, name, unprotect)
        if not cur["metadata"].get("finalizers"):
            try:
                self.objects.delete("PersistentVolumeClaim", ns, name,
                                    expect_resource_version=cur["metadata"]["resourceVersion"])
            except errors.NotFound:
                pass
        return None

    def sync_claim(self, claim: Obj) -> float | None:
        spec = claim.get("spec") or {}
        default = binder.default_class_name(self.classes.list())
        if spec.get("storageClassName") is None and default:
            self._update_claim(claim, lambda c: c["spec"].__setitem__("storageClassName",
                                                                       default))
            return None  # the update brings it back
        volume_name = spec.get("volumeName")
        if volume_name:
            pv = self.volumes.get(volume_name)
            if pv is None:
                self._claim_phase(claim, "Lost" if self._was_bound(claim) else "Pending")
                return None
            if claim_bound_to(claim, pv):
                self._claim_phase(claim, "Bound", pv)
                return None
        sc = self.classes.get(binder.claim_class(claim, default))
        node = None
        if sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer":
            selected = (claim["metadata"].get("annotations") or {}).get(localpath.SELECTED_NODE)
            node = self.nodes.get(selected) if selected else None
            if node is None:
                return None  # the scheduler names the node for the first pod using it
        pv = binder.best_volume(claim, self.volumes.list(), default, node)
        if pv is not None:
            self.bind(claim, pv)
            return None
        return self.provision(claim, sc, node)

    def _was_bound(self, claim: Obj) -> bool:
        return (claim.get("status") or {}).get("phase") in ("Bound", "Lost")

    def provision(self, claim: Obj, sc: Obj | None, node: Obj | None) -> float | None:
        if sc is None or sc.get("provisioner") != localpath.PROVISIONER:
            return None  # waits for a volume made by hand
        if node is None:  # Immediate: the first Ready node
            ready = [n for n in self.nodes.list() if node_is_ready(n)]
            if not ready:
                return 5.0
            node = min(ready, key=lambda n: n["metadata"]["name"])
        pv = localpath.new_volume(claim, sc, node)
        if pv is None:
            self.events.warning(claim, "ProvisioningFailed",
                                f"node {node['metadata']['name']} has no local-path root")
            return 10.0
        try:
            pv = self.objects.create(pv)
        except errors.AlreadyExists:
            return None  # made on an earlier pass; its event binds it
        self.events.normal(claim, "ProvisioningSucceeded",
                           f"Successfully provisioned volume {pv['metadata']['name']} on node "
                           f"{node['metadata']['name']}")
        self.bind(claim, pv)
        return None

    def bind(self, claim: Obj, pv: Obj) -> None:
        """The volume's claimRef first, then the claim."""
        ref = localpath.claim_ref(claim)
        name = pv["metadata"]["name"]

        def to_volume(cur: Obj) -> Obj | None:
            old = (cur.get("spec") or {}).get("claimRef") or {}
            if old.get("uid") and old.get("uid") != ref["uid"]:
                raise errors.Conflict(f"volume {name} is bound to another claim")
            cur["spec"]["claimRef"] = ref
            cur.setdefault("status", {})["phase"] = "Bound"
            return cur
        pv = self.objects.guaranteed_update("PersistentVolume", None, name, to_volume)

        def to_claim(cur: Obj) -> Obj | None:
            cur["spec"]["volumeName"] = name
            self._status(cur, "Bound", pv)
            ann = cur["metadata"].setdefault("annotations", {})
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            return cur
        self._update_claim(claim, to_claim)
        log.info("bound claim %s to volume %s", key_of(claim), name)

    @staticmethod
    def _status(claim: Obj, phase: str, pv: Obj | None = None) -> None:
        st = claim.setdefault("status", {})
        st["phase"] = phase
        if pv is not None and phase == "Bound":
            st["capacity"] = dict((pv.get("spec") or {}).get("capacity") or {})
            st["accessModes"] = list((pv.get("spec") or {}).get("accessModes") or [])

    def _claim_phase(self, claim: Obj, phase: str, pv: Obj | None = None) -> None:
        if (claim.get("status") or {}).get("phase") == phase:
            return
        self._update_claim(claim, lambda c: self._status(c, phase, pv))

    def _update_claim(self, claim: Obj, change: Any) -> None:
        uid = claim["metadata"].get("uid")

        def mutate(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            change(cur)
            return cur
        self.objects.guaranteed_update("PersistentVolumeClaim", claim["metadata"].get(
            "namespace"), claim["metadata"]["name"], mutate)

    def _stored_claim(self, ref: Obj) -> Obj | None:
        try:
            return self.objects.get("PersistentVolumeClaim", ref.get("namespace"), ref["name"])
        except errors.NotFound:
            return None

    def sync_volume(self, pv: Obj) -> float | None:
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef") or {}
        phase = (pv.get("status") or {}).get("phase")
        if not ref.get("name"):
            want = "Available"
        else:
            claim = self.claims.get(f"{ref.get('namespace')}/{ref['name']}")
            if claim is None and ref.get("uid"):
                claim = self._stored_claim(ref)  # the cache may only be late
            if claim is not None and (not ref.get("uid")
                                      or claim["metadata"].get("uid") == ref.get("uid")):
                want = "Bound" if claim_bound_to(claim, pv) else phase or "Pending"
            else:
                # pre-bound by hand to a claim yet to come: waits for it
                want = "Released" if ref.get("uid") else "Available"
        if want == "Released" and spec.get("persistentVolumeReclaimPolicy") == "Delete":
            try:
                self.objects.delete("PersistentVolume", None, pv["metadata"]["name"],
                                    expect_resource_version=pv["metadata"]["resourceVersion"])
                log.info("deleted released volume %s", pv["metadata"]["name"])
            except errors.NotFound:
                pass
            return None
        if want != phase:
            name = pv["metadata"]["name"]

            def set_phase(cur: Obj) -> Obj | None:
                cur.setdefault("status", {})["phase"] = want
                return cur
            self.objects.guaranteed_update("PersistentVolume", None, name, set_phase)
        return None
