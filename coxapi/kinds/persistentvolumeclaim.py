"""PersistentVolumeClaims: a pod's request for storage, bound to a
PersistentVolume (master/controllers/persistentvolume.py). A claim carries the
``kubernetes.io/pvc-protection`` finalizer from creation: it is removed only
once no pod uses the claim."""

from __future__ import annotations

from typing import Any

from coxapi.validation import storage
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .persistentvolume import access_modes_text
from .strategy import Strategy

Obj = dict[str, Any]
PROTECTION = "kubernetes.io/pvc-protection"


class PersistentVolumeClaimStrategy(Strategy):
    columns = (
        Column("STATUS", ".status.phase"),
        Column("VOLUME", ".spec.volumeName"),
        Column("CAPACITY", ".status.capacity.storage"),
        Column("ACCESS MODES", lambda o, now: access_modes_text((o.get("status") or {})
                                                                .get("accessModes"))),
        Column("STORAGECLASS", ".spec.storageClassName"),
        AGE,
    )

    def defaults(self, obj: Obj) -> None:
        storage.pvc_defaults(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        storage.validate_pvc(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        storage.validate_pvc_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}
        fins = obj["metadata"].setdefault("finalizers", [])
        if PROTECTION not in fins:
            fins.append(PROTECTION)


KIND = Kind("PersistentVolumeClaim", "persistentvolumeclaims", "", "v1", True, ("pvc",),
            ("status",), strategy=PersistentVolumeClaimStrategy())
