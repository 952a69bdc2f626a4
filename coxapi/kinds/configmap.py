"""ConfigMaps: plain data."""

from __future__ import annotations

from typing import Any

from coxapi.validation import configdata
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import NodeRead, Strategy

Obj = dict[str, Any]


class ConfigMapStrategy(Strategy):
    columns = (
        Column("DATA", lambda o, now: str(len(o.get("data") or {})
                                          + len(o.get("binaryData") or {}))),
        AGE,
    )

    def validate(self, errs: Errors, obj: Obj) -> None:
        configdata.validate_config_map(errs, obj)


    def node_read(self, r: NodeRead) -> str | None:
        return r.only_referenced()

KIND = Kind("ConfigMap", "configmaps", "", "v1", True, ("cm",), strategy=ConfigMapStrategy())
