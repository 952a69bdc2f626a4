"""Server-side printing: a ``meta.k8s.io`` Table of objects of one kind, with
the kind's printer columns (``Strategy.columns``, what ``cox get`` prints).
Pure; ``now`` is passed in.

``include`` says what each row carries besides its cells, as Kubernetes'
``includeObject`` does: ``Metadata`` (the default) a PartialObjectMetadata,
``Object`` the whole object, ``None`` nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .kinds import Kind
from .kinds.columns import Column

Obj = dict[str, Any]

INCLUDE_VALUES = ("None", "Metadata", "Object")
TABLE_VERSIONS = ("v1", "v1beta1")  # of meta.k8s.io

_NAME = Column("NAME", lambda o, now: str((o.get("metadata") or {}).get("name", "")),
               description=("Name must be unique within a namespace. It is required when "
                            "creating resources."), format="name")


def columns(kind: Kind) -> list[Column]:
    return ([_NAME] if kind.strategy.name_column else []) + list(kind.strategy.columns)


def column_definitions(kind: Kind) -> list[Obj]:
    return [{"name": c.name, "type": c.type, "format": c.format,
             "description": c.description, "priority": c.priority} for c in columns(kind)]


def _row_object(obj: Obj, include: str, api_version: str) -> Obj | None:
    if include == "Object":
        return obj
    if include == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version,
            "metadata": obj.get("metadata") or {}}


def row(kind: Kind, obj: Obj, now: datetime, include: str = "Metadata",
        table_version: str = "v1") -> Obj:
    """``obj`` is stored; the cells read it so, the embedded object is in
    ``kind``'s version."""
    out: Obj = {"cells": [c.cell(obj, now) for c in columns(kind)]}
    shown = obj if include == "None" else kind.from_stored(obj)
    embedded = _row_object(shown, include, f"meta.k8s.io/{table_version}")
    if embedded is not None:
        out["object"] = embedded
    return out


def table(kind: Kind, objs: list[Obj], now: datetime, *, include: str = "Metadata",
          table_version: str = "v1", metadata: Obj | None = None) -> Obj:
    """The Table of ``objs`` (one for a get, the items of a list, or one
    watch event's object); ``metadata`` is the list's (resourceVersion,
    continue)."""
    return {"kind": "Table", "apiVersion": f"meta.k8s.io/{table_version}",
            "metadata": metadata or {},
            "columnDefinitions": column_definitions(kind),
            "rows": [row(kind, o, now, include, table_version) for o in objs]}
