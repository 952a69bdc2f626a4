"""PersistentVolumes: storage on a node (``hostPath``, ``local``), bound to a
claim by master/controllers/persistentvolume.py."""

from __future__ import annotations

from typing import Any

from coxapi.validation import storage
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import Strategy

Obj = dict[str, Any]

# The built-in local-path provisioner (master/storage/localpath.py) and the node
# agent that makes and removes its directories share these names.
LOCAL_PATH_PROVISIONER = "coxswain.io/local-path"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
# Node annotation: the directory under which the node keeps local-path volumes.
LOCAL_PATH_ROOT = "storage.coxswain.io/local-path-root"


def is_local_path(pv: Obj) -> bool:
    return (pv.get("metadata", {}).get("annotations") or {}).get(PROVISIONED_BY) \
        == LOCAL_PATH_PROVISIONER


def volume_path(pv: Obj) -> str | None:
    """Where the volume's files are on its node."""
    spec = pv.get("spec") or {}
    for source in ("local", "hostPath"):
        if isinstance(spec.get(source), dict) and spec[source].get("path"):
            return str(spec[source]["path"])
    return None


def _claim(o: Obj, now: object) -> str:
    ref = (o.get("spec") or {}).get("claimRef") or {}
    return f"{ref.get('namespace', '')}/{ref['name']}" if ref.get("name") else ""


def access_modes_text(modes: list[str] | None) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
             "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


class PersistentVolumeStrategy(Strategy):
    columns = (
        Column("CAPACITY", ".spec.capacity.storage"),
        Column("ACCESS MODES", lambda o, now: access_modes_text((o.get("spec") or {})
                                                                .get("accessModes"))),
        Column("RECLAIM POLICY", ".spec.persistentVolumeReclaimPolicy"),
        Column("STATUS", ".status.phase"),
        Column("CLAIM", _claim),
        Column("STORAGECLASS", ".spec.storageClassName"),
        AGE,
    )

    def defaults(self, obj: Obj) -> None:
        storage.pv_defaults(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        storage.validate_pv(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        storage.validate_pv_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending"}


KIND = Kind("PersistentVolume", "persistentvolumes", "", "v1", False, ("pv",), ("status",),
            strategy=PersistentVolumeStrategy())
