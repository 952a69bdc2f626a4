"""Validation of ConfigMaps and Secrets."""

from __future__ import annotations

from typing import Any

from .common import Errors, is_str, string_map

Obj = dict[str, Any]


def validate_config_map(errs: Errors, obj: Obj) -> None:
    string_map(errs, "data", obj.get("data"))
    string_map(errs, "binaryData", obj.get("binaryData"))


def validate_secret(errs: Errors, obj: Obj) -> None:
    string_map(errs, "data", obj.get("data"))
    string_map(errs, "stringData", obj.get("stringData"))
    if not is_str(obj.get("type", "Opaque")):
        errs.add("type", "must be a string")
