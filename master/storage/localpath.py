"""The built-in local-path provisioner's volumes (pure): a directory per volume
under the chosen node's local-path root (the agent announces it in the Node
annotation ``LOCAL_PATH_ROOT``), with node affinity to that node."""

from __future__ import annotations

import posixpath
from typing import Any

from coxapi.kinds.persistentvolume import LOCAL_PATH_PROVISIONER, LOCAL_PATH_ROOT, PROVISIONED_BY

Obj = dict[str, Any]

PROVISIONER = LOCAL_PATH_PROVISIONER
DEFAULT_CLASS = "local-path"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
HOSTNAME_LABEL = "kubernetes.io/hostname"


def default_class() -> Obj:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": DEFAULT_CLASS, "annotations": {
                "storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer"}


def root_of(node: Obj) -> str | None:
    return (node.get("metadata", {}).get("annotations") or {}).get(LOCAL_PATH_ROOT)


def volume_name(claim: Obj) -> str:
    return f"pvc-{claim['metadata']['uid']}"


def claim_ref(claim: Obj) -> Obj:
    m = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1",
            "namespace": m.get("namespace"), "name": m["name"], "uid": m.get("uid")}


def new_volume(claim: Obj, sc: Obj, node: Obj) -> Obj | None:
    """The PV for ``claim`` on ``node``, pre-bound to the claim; None if the node
    has no local-path root."""
    root = root_of(node)
    if not root:
        return None
    name = volume_name(claim)
    cspec = claim.get("spec") or {}
    node_name = node["metadata"]["name"]
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: PROVISIONER},
                     "labels": {HOSTNAME_LABEL: node_name}},
        "spec": {
            "capacity": {"storage": ((cspec.get("resources") or {}).get("requests") or {})
                         .get("storage", "0")},
            "accessModes": list(cspec.get("accessModes") or ["ReadWriteOnce"]),
            "storageClassName": sc["metadata"]["name"],
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy", "Delete"),
            "volumeMode": "Filesystem",
            "local": {"path": posixpath.join(root, name)},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node_name]}]}]}},
            "claimRef": claim_ref(claim),
        },
    }
