"""Secrets: ``stringData`` is write-only and folded into base64 ``data``."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from coxapi import defaults
from coxapi.errors import Invalid
from coxapi.validation import configdata
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import NodeRead, Strategy

Obj = dict[str, Any]


class SecretStrategy(Strategy):
    field_selectors = ("type",)
    apply_hashed_fields = ("data", "stringData")
    columns = (
        Column("TYPE", ".type", default="Opaque"),
        Column("DATA", lambda o, now: str(len(o.get("data") or {})
                                          + len(o.get("stringData") or {}))),
        AGE,
    )

    def defaults(self, obj: Obj) -> None:
        defaults.secret(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        configdata.validate_secret(errs, obj)

    def canonicalize(self, obj: Obj) -> None:
        """``stringData`` is merged into ``data`` (base64), as Kubernetes does;
        ``data`` values must be base64."""
        data = obj.get("data")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, dict):
            data = data if isinstance(data, dict) else {}
            for k, v in string_data.items():
                if isinstance(v, str):
                    data[k] = base64.b64encode(v.encode()).decode()
            obj["data"] = data
        if isinstance(data, dict):
            bad = []
            for k, v in data.items():
                try:
                    base64.b64decode(v.encode() if isinstance(v, str) else b"!", validate=True)
                except (binascii.Error, ValueError):
                    bad.append((f"data[{k}]", "Invalid value: must be base64-encoded"))
            if bad:
                raise Invalid.fields("Secret", str(obj.get("metadata", {}).get("name", "")), bad)


    def node_read(self, r: NodeRead) -> str | None:
        return r.only_referenced()

KIND = Kind("Secret", "secrets", "", "v1", True, (), strategy=SecretStrategy())
