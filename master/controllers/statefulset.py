"""StatefulSet controller: pods ``<set>-0 … <set>-N-1`` with stable names,
created, deleted and updated in ordinal order.

- A pod's name is its identity: the store refuses a second object of that
  name, so two pods of one ordinal never exist at once (a replacement is
  created only after the old pod is gone, i.e. after its node stopped it).
- ``OrderedReady``: pod i is created only when 0..i-1 are Running and Ready;
  scale-down removes the highest ordinal first, one at a time, and waits.
  ``Parallel``: every missing pod is created and every surplus one deleted at once.
- ``RollingUpdate``: once every pod is up, the highest ordinal not at the
  update revision (and at or above ``partition``) is deleted and recreated
  from the new template, one at a time, each waiting for the last to be
  Ready. ``OnDelete``: pods change only when the user deletes them.
- Revisions are digests of the pod template (``controller-revision-hash``);
  the template of the current revision is not kept in ControllerRevisions, so
  a missing pod below ``partition`` is recreated from a sibling still at the
  current revision, or from the new template if there is none.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import re
from typing import Any

from coxapi import errors, kinds, labels
from coxapi.defaults import apply_defaults
from coxapi.jsoncopy import json_copy
from coxapi.meta import controller_ref, is_terminating, key_of

from ..admission import podsecurity
from . import pods as podutil
from .base import Context, Controller
from .ownership import CONTROLLER_INDEX, candidates, claim, controller_index, owned

log = logging.getLogger(__name__)
Obj = dict[str, Any]

LABEL_POD_NAME = "statefulset.kubernetes.io/pod-name"
LABEL_REVISION = "controller-revision-hash"
LABEL_INDEX = "apps.kubernetes.io/pod-index"


def revision(sts: Obj) -> str:
    """``<set>-<digest of the pod template>``: the update revision."""
    tmpl = (sts.get("spec") or {}).get("template") or {}
    blob = json.dumps(tmpl, sort_keys=True, separators=(",", ":")).encode()
    return f"{sts['metadata']['name']}-{hashlib.sha256(blob).hexdigest()[:10]}"


def ordinal(sts: Obj, pod: Obj) -> int | None:
    m = re.fullmatch(re.escape(sts["metadata"]["name"]) + r"-(\d+)", pod["metadata"]["name"])
    return int(m.group(1)) if m else None


def new_pod(sts: Obj, i: int, rev: str, template: Obj | None = None) -> Obj:
    """Pod ``i`` of the set from ``template`` (default: the set's own)."""
    spec = sts.get("spec") or {}
    tmpl = template if template is not None else spec.get("template") or {}
    tmeta = tmpl.get("metadata") or {}
    name = f"{sts['metadata']['name']}-{i}"
    pod_labels = dict(tmeta.get("labels") or {}) | {
        LABEL_POD_NAME: name, LABEL_REVISION: rev, LABEL_INDEX: str(i)}
    meta: Obj = {"name": name, "namespace": sts["metadata"].get("namespace", "default"),
                 "labels": pod_labels}
    if tmeta.get("annotations"):
        meta["annotations"] = dict(tmeta["annotations"])
    pod_spec = json_copy(tmpl.get("spec") or {})
    pod_spec["hostname"] = name
    claims = {c["metadata"]["name"]: claim_name(c, sts, i) for c in claim_templates(sts)}
    pod_spec["volumes"] = [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
    pod_spec["volumes"] += [{"name": t, "persistentVolumeClaim": {"claimName": c}}
                            for t, c in claims.items()]
    if not pod_spec["volumes"]:
        del pod_spec["volumes"]
    if spec.get("serviceName"):
        pod_spec["subdomain"] = spec["serviceName"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec,
           "status": {"phase": "Pending"}}
    return apply_defaults(owned(pod, sts))


def claim_templates(sts: Obj) -> list[Obj]:
    return [t for t in (sts.get("spec") or {}).get("volumeClaimTemplates") or []
            if (t.get("metadata") or {}).get("name")]


def claim_name(template: Obj, sts: Obj, i: int) -> str:
    """``<template>-<set>-<ordinal>``: a replica's claim, kept across its pod's recreation."""
    return f"{template['metadata']['name']}-{sts['metadata']['name']}-{i}"


def new_claim(template: Obj, sts: Obj, i: int) -> Obj:
    """Replica ``i``'s claim from a template; not owned by the set, so it outlives
    scale-down and the set itself (``persistentVolumeClaimRetentionPolicy: Retain``)."""
    selector = ((sts.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    tmeta = template.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": claim_name(template, sts, i),
                         "namespace": sts["metadata"].get("namespace", "default"),
                         "labels": dict(tmeta.get("labels") or {}) | dict(selector),
                         **({"annotations": dict(tmeta["annotations"])}
                            if tmeta.get("annotations") else {})},
            "spec": copy.deepcopy(template.get("spec") or {})}


def admitted(obj: Obj) -> Obj:
    """``obj`` as the API would store it on create: defaults and what the
    server sets (a claim's protection finalizer, its Pending status)."""
    obj = apply_defaults(obj)
    kinds.for_object(obj).strategy.prepare_for_create(obj)
    return obj


def _template_of(pod: Obj) -> Obj:
    """The pod template a pod was made from (to recreate a sibling at its revision)."""
    meta = pod["metadata"]
    tlabels = {k: v for k, v in (meta.get("labels") or {}).items()
               if k not in (LABEL_POD_NAME, LABEL_REVISION, LABEL_INDEX)}
    spec = copy.deepcopy(pod.get("spec") or {})
    for k in ("nodeName", "hostname", "subdomain"):
        spec.pop(k, None)
    return {"metadata": {"labels": tlabels, **({"annotations": meta["annotations"]}
                                               if meta.get("annotations") else {})},
            "spec": spec}


def running_and_ready(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and podutil.is_ready(pod)


class StatefulSetController(Controller):
    name = "statefulset-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.sets = ctx.informers["StatefulSet"]
        self.pods = ctx.informers["Pod"]
        self.pods.add_index(CONTROLLER_INDEX, controller_index)
        self.claims = ctx.informers["PersistentVolumeClaim"]
        self.sets.add_handler(**self.handlers())
        self.pods.add_handler(**self.handlers(self._pod_changed))

    def _pod_changed(self, pod: Obj) -> None:
        ref = controller_ref(pod)
        if ref and ref.get("kind") == self.sets.kind:
            self.queue.add(f"{pod['metadata'].get('namespace')}/{ref.get('name')}")

    # ---- reconcile -------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        sts = self.sets.get(key)
        if sts is None or is_terminating(sts):
            return None
        try:
            selector = labels.from_label_selector((sts.get("spec") or {}).get("selector"))
        except labels.SelectorError as e:
            self.events.warning(sts, "InvalidSelector", f"invalid selector: {e}")
            return None
        mine = claim(self.objects, "Pod", sts, selector, candidates(self.pods, sts))
        by_ordinal = {o: p for p in mine if (o := ordinal(sts, p)) is not None}
        self.manage(sts, by_ordinal)
        self.update_status(sts, by_ordinal)
        return None

    def manage(self, sts: Obj, pods: dict[int, Obj]) -> None:
        spec = sts.get("spec") or {}
        want = int(spec.get("replicas", 1) or 0)
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        update_rev = revision(sts)
        current_rev = (sts.get("status") or {}).get("currentRevision") or update_rev
        strategy = spec.get("updateStrategy") or {}
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)

        # Failed pods are deleted and recreated; everything waits on a terminating pod.
        for i in range(want):
            pod = pods.get(i)
            if pod is None:
                rev = update_rev
                template = None
                if i < partition and current_rev != update_rev:
                    sibling = next((p for p in pods.values()
                                    if p["metadata"]["labels"].get(LABEL_REVISION) == current_rev),
                                   None)
                    if sibling is not None:
                        rev, template = current_rev, _template_of(sibling)
                self._create(sts, i, rev, template)
                if ordered:
                    return
                continue
            phase = (pod.get("status") or {}).get("phase")
            if phase in ("Failed", "Succeeded") and not is_terminating(pod):
                self._delete(sts, pod, "recreate a failed pod")
                if ordered:
                    return
                continue
            if ordered and (is_terminating(pod) or not running_and_ready(pod)):
                return  # pod i must be Running and Ready before i+1 is touched
        condemned = sorted((i for i in pods if i >= want), reverse=True)
        for i in condemned:
            pod = pods[i]
            if is_terminating(pod):
                if ordered:
                    return
                continue
            if ordered and not all(running_and_ready(pods[j]) for j in range(want) if j in pods):
                return
            self._delete(sts, pod, "scale down")
            if ordered:
                return
        if strategy.get("type", "RollingUpdate") != "RollingUpdate":
            return
        # Rolling update: highest ordinal first, one at a time, only when all are up.
        if any(is_terminating(pods[i]) or not running_and_ready(pods[i])
               for i in range(want) if i in pods) or len([i for i in pods if i < want]) < want:
            return
        for i in range(want - 1, partition - 1, -1):
            pod = pods.get(i)
            if pod is not None and pod["metadata"].get("labels", {}).get(LABEL_REVISION) \
                    != update_rev:
                self._delete(sts, pod, f"update to revision {update_rev}")
                return

    def _create(self, sts: Obj, i: int, rev: str, template: Obj | None) -> None:
        for tmpl in claim_templates(sts):
            self._ensure_claim(sts, tmpl, i)
        pod = new_pod(sts, i, rev, template)
        try:
            self.objects.create(podsecurity.admitted_pod(self.objects, pod))
        except errors.AlreadyExists:
            return  # the informer has not seen it yet, or an old one is still being removed
        except errors.ApiError as e:
            self.events.warning(sts, "FailedCreate", f"create Pod {pod['metadata']['name']} "
                                                     f"in StatefulSet {sts['metadata']['name']} "
                                                     f"failed error: {e}")
            raise
        self.events.normal(sts, "SuccessfulCreate", f"create Pod {pod['metadata']['name']} in "
                                                    f"StatefulSet {sts['metadata']['name']} "
                                                    "successful")

    def _ensure_claim(self, sts: Obj, tmpl: Obj, i: int) -> None:
        claim = new_claim(tmpl, sts, i)
        name = claim["metadata"]["name"]
        if self.claims.get_by(claim["metadata"]["namespace"], name) is not None:
            return
        try:
            self.objects.create(admitted(claim))
        except errors.AlreadyExists:
            return
        except errors.ApiError as e:
            self.events.warning(sts, "FailedCreate", f"create Claim {name} for Pod "
                                                     f"{sts['metadata']['name']}-{i} in "
                                                     f"StatefulSet {sts['metadata']['name']} "
                                                     f"failed error: {e}")
            raise
        self.events.normal(sts, "SuccessfulCreate", f"create Claim {name} Pod "
                                                    f"{sts['metadata']['name']}-{i} in "
                                                    f"StatefulSet {sts['metadata']['name']} "
                                                    "success")

    def _delete(self, sts: Obj, pod: Obj, why: str) -> None:
        podutil.delete_pod(self.objects, pod, self.config.clock())
        log.info("statefulset %s: deleting pod %s (%s)", key_of(sts), pod["metadata"]["name"],
                 why)
        self.events.normal(sts, "SuccessfulDelete", f"delete Pod {pod['metadata']['name']} in "
                                                    f"StatefulSet {sts['metadata']['name']} "
                                                    "successful")

    def update_status(self, sts: Obj, pods: dict[int, Obj]) -> None:
        spec = sts.get("spec") or {}
        update_rev = revision(sts)
        old = sts.get("status") or {}
        current_rev = old.get("currentRevision") or update_rev
        live = [p for p in pods.values() if not is_terminating(p)]
        want = int(spec.get("replicas", 1) or 0)
        min_ready = float(spec.get("minReadySeconds") or 0)
        now = self.config.clock()

        def rev_of(p: Obj) -> str:
            return str((p["metadata"].get("labels") or {}).get(LABEL_REVISION))
        updated = sum(1 for p in live if rev_of(p) == update_rev)
        if updated == want and len(live) == want:
            current_rev = update_rev  # the rollout is complete
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": sum(1 for p in live if podutil.is_ready(p)),
            "availableReplicas": sum(1 for p in live
                                     if podutil.available_in(p, min_ready, now) == 0),
            "currentReplicas": sum(1 for p in live if rev_of(p) == current_rev),
            "updatedReplicas": updated,
            "currentRevision": current_rev,
            "updateRevision": update_rev,
            "collisionCount": old.get("collisionCount", 0),
        }
        if all(old.get(k) == v for k, v in status.items()):
            return
        uid = sts["metadata"].get("uid")

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            cur.setdefault("status", {}).update(status)
            return cur
        self.objects.guaranteed_update("StatefulSet", sts["metadata"].get("namespace"),
                                       sts["metadata"]["name"], write)
