"""Validation of pod volumes and volume mounts."""

from __future__ import annotations

from typing import Any

from .. import quantity
from .common import REQUIRED, Errors, dns1123_label, dns1123_subdomain, is_str, object_list

Obj = dict[str, Any]

SOURCES = ("emptyDir", "hostPath", "configMap", "secret", "downwardAPI", "projected",
           "persistentVolumeClaim")
_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "metadata.labels",
                "metadata.annotations")
_RESOURCES = tuple(f"{s}.{r}" for s in ("limits", "requests")
                   for r in ("cpu", "memory", "ephemeral-storage"))


def _rel_path(errs: Errors, field: str, path: Any) -> None:
    if not path or not is_str(path):
        errs.add(field, REQUIRED)
    elif path.startswith("/"):
        errs.add(field, f"Invalid value: {path!r}: must be a relative path")
    elif ".." in path.split("/"):
        errs.add(field, f"Invalid value: {path!r}: must not contain '..'")
    elif path.startswith(".."):
        errs.add(field, f"Invalid value: {path!r}: must not start with '..'")


def _mode(errs: Errors, field: str, mode: Any) -> None:
    if mode is None:
        return
    if not isinstance(mode, int) or isinstance(mode, bool) or not 0 <= mode <= 0o777:
        errs.add(field, f"Invalid value: {mode!r}: must be a number between 0 and 0777 "
                        "(octal), both inclusive")


def _items(errs: Errors, field: str, items: Any) -> None:
    for f, item in object_list(errs, field, items):
        if not item.get("key") or not is_str(item.get("key")):
            errs.add(f"{f}.key", REQUIRED)
        _rel_path(errs, f"{f}.path", item.get("path"))
        _mode(errs, f"{f}.mode", item.get("mode"))


def _object_source(errs: Errors, field: str, src: Any, name_key: str) -> None:
    if not isinstance(src, dict):
        errs.add(field, "must be an object")
        return
    name = src.get(name_key)
    if not name or not is_str(name) or dns1123_subdomain(name):
        errs.add(f"{field}.{name_key}", REQUIRED if not name else
                 f"Invalid value: {name!r}: must be a DNS-1123 subdomain")
    _items(errs, f"{field}.items", src.get("items"))
    _mode(errs, f"{field}.defaultMode", src.get("defaultMode"))


def _downward_items(errs: Errors, field: str, items: Any) -> None:
    for f, item in object_list(errs, field, items):
        _rel_path(errs, f"{f}.path", item.get("path"))
        _mode(errs, f"{f}.mode", item.get("mode"))
        ref, res = item.get("fieldRef"), item.get("resourceFieldRef")
        if (ref is None) == (res is None):
            errs.add(f, "must specify exactly one of fieldRef and resourceFieldRef")
        elif isinstance(ref, dict):
            path = str(ref.get("fieldPath", ""))
            if path not in _FIELD_PATHS and not (
                    path.startswith(("metadata.labels['", "metadata.annotations['"))
                    and path.endswith("']")):
                errs.add(f"{f}.fieldRef.fieldPath", f"Unsupported value: {path!r}")
        elif isinstance(res, dict):
            if not res.get("containerName"):
                errs.add(f"{f}.resourceFieldRef.containerName", REQUIRED)
            if res.get("resource") not in _RESOURCES:
                errs.add(f"{f}.resourceFieldRef.resource",
                         f"Unsupported value: {res.get('resource')!r}")
            if res.get("divisor") is not None:
                try:
                    if quantity.parse(res["divisor"]) <= 0:
                        raise quantity.QuantityError("must be positive")
                except quantity.QuantityError as e:
                    errs.add(f"{f}.resourceFieldRef.divisor",
                             f"Invalid value: {res['divisor']!r}: {e}")


def _volume(errs: Errors, f: str, v: Obj) -> None:
    present = [s for s in SOURCES if v.get(s) is not None]
    if not present:
        errs.add(f, "must specify a volume type (one of " + ", ".join(SOURCES) + ")")
        return
    if len(present) > 1:
        errs.add(f, f"may not specify more than 1 volume type: {', '.join(present)}")
        return
    kind, src = present[0], v[present[0]]
    if kind == "emptyDir" and src is None:
        src = {}  # ``emptyDir: {}`` or ``emptyDir:`` alike
    if not isinstance(src, dict):
        errs.add(f"{f}.{kind}", "must be an object")
        return
    if kind == "emptyDir":
        if src.get("medium") not in (None, "", "Memory"):
            errs.add(f"{f}.emptyDir.medium", f"Unsupported value: {src.get('medium')!r}: "
                                             'supported values: "", "Memory"')
        if src.get("sizeLimit") is not None:
            try:
                quantity.parse_memory(src["sizeLimit"])
            except quantity.QuantityError as e:
                errs.add(f"{f}.emptyDir.sizeLimit", f"Invalid value: {src['sizeLimit']!r}: {e}")
    elif kind == "hostPath":
        path = src.get("path")
        if not path or not is_str(path) or not path.startswith("/"):
            errs.add(f"{f}.hostPath.path", "must be an absolute path")
    elif kind == "persistentVolumeClaim":
        if not is_str(src.get("claimName")) or not src.get("claimName"):
            errs.add(f"{f}.persistentVolumeClaim.claimName", REQUIRED)
    elif kind == "configMap":
        _object_source(errs, f"{f}.configMap", src, "name")
    elif kind == "secret":
        _object_source(errs, f"{f}.secret", src, "secretName")
    elif kind == "downwardAPI":
        _downward_items(errs, f"{f}.downwardAPI.items", src.get("items"))
        _mode(errs, f"{f}.downwardAPI.defaultMode", src.get("defaultMode"))
    elif kind == "projected":
        _mode(errs, f"{f}.projected.defaultMode", src.get("defaultMode"))
        for sf, s in object_list(errs, f"{f}.projected.sources", src.get("sources")):
            if s.get("configMap") is not None:
                _object_source(errs, f"{sf}.configMap", s["configMap"], "name")
            elif s.get("secret") is not None:
                _object_source(errs, f"{sf}.secret", s["secret"], "name")
            elif s.get("downwardAPI") is not None:
                _downward_items(errs, f"{sf}.downwardAPI.items",
                                (s["downwardAPI"] or {}).get("items"))
            elif s.get("serviceAccountToken") is None:
                errs.add(sf, "must specify one of configMap, secret, downwardAPI or "
                             "serviceAccountToken")


def validate_volumes(errs: Errors, field: str, volumes: Any) -> set[str]:
    """The volumes of a pod spec; returns their names (for the mounts' check)."""
    names: set[str] = set()
    for f, v in object_list(errs, field, volumes):
        vn = v.get("name")
        if not vn or not is_str(vn) or dns1123_label(vn):
            errs.add(f"{f}.name", f"Invalid value: {vn!r}: must be a DNS-1123 label")
        elif vn in names:
            errs.add(f"{f}.name", f"Duplicate value: {vn!r}")
        else:
            names.add(vn)
        _volume(errs, f, v)
    return names


def validate_mounts(errs: Errors, field: str, mounts: Any, volumes: set[str]) -> None:
    paths: set[str] = set()
    for f, m in object_list(errs, field, mounts):
        name = m.get("name")
        if not name:
            errs.add(f"{f}.name", REQUIRED)
        elif not is_str(name) or name not in volumes:
            errs.add(f"{f}.name", f"Not found: {name!r}")
        path = m.get("mountPath")
        if not path or not is_str(path):
            errs.add(f"{f}.mountPath", REQUIRED)
        elif not path.startswith("/"):
            errs.add(f"{f}.mountPath", f"Invalid value: {path!r}: must be an absolute path")
        elif path in paths:
            errs.add(f"{f}.mountPath", f"Invalid value: {path!r}: must be unique")
        else:
            paths.add(path)
        if m.get("subPath"):
            _rel_path(errs, f"{f}.subPath", m["subPath"])
