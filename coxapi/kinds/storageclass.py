"""StorageClasses: how claims of a class get volumes (storage.k8s.io/v1)."""

from __future__ import annotations

from typing import Any

from coxapi.validation import storage
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]
DEFAULT_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def is_default(sc: Obj) -> bool:
    return (sc.get("metadata", {}).get("annotations") or {}).get(DEFAULT_ANNOTATION) == "true"


class StorageClassStrategy(Strategy):
    columns = (
        Column("PROVISIONER", lambda o, now: o.get("provisioner", "")
               + (" (default)" if is_default(o) else "")),
        Column("RECLAIMPOLICY", ".reclaimPolicy"),
        Column("VOLUMEBINDINGMODE", ".volumeBindingMode"),
        AGE,
    )

    def defaults(self, obj: Obj) -> None:
        storage.storage_class_defaults(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        storage.validate_storage_class(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        storage.validate_storage_class_update(errs, old, new)


KIND = Kind("StorageClass", "storageclasses", "storage.k8s.io", "v1", False, ("sc",),
            strategy=StorageClassStrategy())
