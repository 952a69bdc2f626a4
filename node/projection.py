"""Pure: the files of a pod's configMap, secret, downwardAPI and projected volumes.

``payload(pod, volume, resolve)`` turns one volume of the pod spec into the
``{relative path: FileProjection}`` map the ``AtomicWriter`` writes, reading
ConfigMaps and Secrets through ``resolve`` (as ``podspec`` does for env
vars). A missing non-optional source raises ``MountError`` naming it, which
the agent reports as a ``FailedMount`` Event while the pod waits in
ContainerCreating.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from coxapi.quantity import QuantityError, parse

from .atomicwriter import FileProjection, PayloadError, validate_path
from .podspec import API_SOURCES, Resolver

Obj = dict[str, Any]

# Sources kept on tmpfs, never on the node's disk (kubelet does the same).
TMPFS_SOURCES = ("secret", "projected", "downwardAPI")
DEFAULT_MODE = 0o644


class MountError(Exception):
    """A volume cannot be set up (yet): reported as FailedMount."""


def api_source(volume: Obj) -> str | None:
    """Which of ``API_SOURCES`` this volume is, or None."""
    return next((s for s in API_SOURCES if volume.get(s) is not None), None)


def _mode(value: Any, default: int) -> int:
    return int(value) & 0o777 if isinstance(value, int) and not isinstance(value, bool) \
        else default


def _b64(kind: str, obj: Obj, value: Any) -> bytes:
    try:
        return base64.b64decode(value or "", validate=True)
    except (binascii.Error, ValueError) as e:
        raise MountError(f"{kind} {obj['metadata'].get('name')!r}: bad data: {e}") from None


def configmap_data(obj: Obj) -> dict[str, bytes]:
    out = {k: str(v).encode() for k, v in (obj.get("data") or {}).items()}
    out.update({k: _b64("configmap", obj, v) for k, v in (obj.get("binaryData") or {}).items()})
    return out


def secret_data(obj: Obj) -> dict[str, bytes]:
    out = {k: _b64("secret", obj, v) for k, v in (obj.get("data") or {}).items()}
    out.update({k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()})
    return out


# kind -> (the key naming the object in a volume source, how to read its keys)
_CONFIGMAP = ("ConfigMap", "name", configmap_data)
_SECRET = ("Secret", "secretName", secret_data)
_Source = tuple[str, str, Callable[[Obj], dict[str, bytes]]]


def _keys_to_files(kind: str, name: str, data: Mapping[str, bytes], items: Any, mode: int,
                   optional: bool) -> dict[str, FileProjection]:
    if not items:
        return {k: FileProjection(v, mode) for k, v in data.items()}
    out = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise MountError(f'{kind.lower()} "{name}" has no key "{key}"')
        out[item.get("path") or key] = FileProjection(data[key], _mode(item.get("mode"), mode))
    return out


def _object_files(source: _Source, ns: str, src: Obj, mode: int,
                  resolve: Resolver) -> dict[str, FileProjection]:
    kind, name_key, read = source
    name = src.get(name_key) or src.get("name") or ""  # projected sources use "name"
    optional = bool(src.get("optional"))
    obj = resolve(kind, ns, name)
    if obj is None:
        if optional:
            return {}
        raise MountError(f'{kind.lower()} "{name}" not found')
    return _keys_to_files(kind, name, read(obj), src.get("items"), mode, optional)


def _map_text(values: Mapping[str, str]) -> str:
    """Labels or annotations as the downward API writes them: ``key="value"`` lines."""
    return "\n".join(f'{k}="{_escape(v)}"' for k, v in sorted(values.items()))


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def field_value(pod: Obj, path: str) -> str:
    meta = pod["metadata"]
    simple = {"metadata.name": meta.get("name", ""),
              "metadata.namespace": meta.get("namespace") or "default",
              "metadata.uid": meta.get("uid", "")}
    if path in simple:
        return simple[path]
    if path == "metadata.labels":
        return _map_text(meta.get("labels") or {})
    if path == "metadata.annotations":
        return _map_text(meta.get("annotations") or {})
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    raise MountError(f"unsupported fieldPath {path!r}")


def resource_value(pod: Obj, ref: Obj, allocatable: Mapping[str, str]) -> str:
    """``resourceFieldRef``: the container's limit or request divided by ``divisor``,
    rounded up; an unset limit is the node's allocatable (as in Kubernetes)."""
    cname, resource = ref.get("containerName", ""), ref.get("resource", "")
    container = next((c for c in pod["spec"].get("containers") or []
                      if c.get("name") == cname), None)
    if container is None:
        raise MountError(f"resourceFieldRef: no container named {cname!r}")
    section, _, name = resource.partition(".")
    if section not in ("limits", "requests") or not name:
        raise MountError(f"resourceFieldRef: unsupported resource {resource!r}")
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    if section == "limits":
        q = limits.get(name, allocatable.get(name, "0"))
    else:
        q = requests.get(name, limits.get(name, "0"))
    try:
        value, divisor = parse(q), parse(ref.get("divisor") or "1")
    except QuantityError as e:
        raise MountError(f"resourceFieldRef {resource}: {e}") from None
    if divisor <= 0:
        raise MountError(f"resourceFieldRef {resource}: divisor must be positive")
    return str(math.ceil(Decimal(value) / Decimal(divisor)))


def _downward_files(pod: Obj, items: Any, mode: int,
                    allocatable: Mapping[str, str]) -> dict[str, FileProjection]:
    out = {}
    for item in items or []:
        if item.get("fieldRef"):
            text = field_value(pod, item["fieldRef"].get("fieldPath", ""))
        elif item.get("resourceFieldRef"):
            text = resource_value(pod, item["resourceFieldRef"], allocatable)
        else:
            continue
        out[item.get("path", "")] = FileProjection(text.encode(), _mode(item.get("mode"), mode))
    return out


def payload(pod: Obj, volume: Obj, resolve: Resolver,
            allocatable: Mapping[str, str] | None = None) -> dict[str, FileProjection]:
    """The files of one API volume. Raises ``MountError``."""
    ns = pod["metadata"].get("namespace") or "default"
    alloc = allocatable or {}
    kind = api_source(volume)
    src = volume.get(kind or "") or {}
    mode = _mode(src.get("defaultMode"), DEFAULT_MODE)
    if kind == "configMap":
        files = _object_files(_CONFIGMAP, ns, src, mode, resolve)
    elif kind == "secret":
        files = _object_files(_SECRET, ns, src, mode, resolve)
    elif kind == "downwardAPI":
        files = _downward_files(pod, src.get("items"), mode, alloc)
    elif kind == "projected":
        files = {}
        for source in src.get("sources") or []:
            if source.get("configMap") is not None:
                files.update(_object_files(_CONFIGMAP, ns, source["configMap"], mode, resolve))
            elif source.get("secret") is not None:
                files.update(_object_files(_SECRET, ns, source["secret"], mode, resolve))
            elif source.get("downwardAPI") is not None:
                files.update(_downward_files(pod, source["downwardAPI"].get("items"), mode,
                                             alloc))
    else:
        raise MountError(f"volume {volume.get('name')!r} is not a configMap, secret, "
                         "downwardAPI or projected volume")
    try:
        for path in files:
            validate_path(path)
    except PayloadError as e:
        raise MountError(str(e)) from None
    return files
