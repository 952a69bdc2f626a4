"""The schemas of the kinds we serve, written once (``dsl``; definitions in
``meta``, ``core``, ``apps``): field validation finds unknown fields with
them and the OpenAPI documents (``openapi``) describe them. Definition names
are Kubernetes' (``io.k8s.api.core.v1.PodSpec``). Pure."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from .. import kinds
from ..kinds import Kind
from . import apps, core, meta
from .dsl import Schema, open_object
from .meta import type_meta

_WRITTEN: dict[str, Schema] = {**meta.DEFINITIONS, **core.DEFINITIONS, **apps.DEFINITIONS}


def definition_name(kind: Kind) -> str:
    """Kubernetes' name: ``io.k8s.api.<group's first label or core>.<version>.<Kind>``."""
    short = kind.group.split(".")[0] if kind.group else "core"
    return f"io.k8s.api.{short}.{kind.version}.{kind.kind}"


def _open_kind(kind: Kind) -> Schema:
    """A kind whose fields are not written out yet: described as an object that
    keeps every field, so field validation has nothing to call unknown in it."""
    return Schema("object", f"{kind.kind} ({kind.api_version}); its fields are not described "
                            "field by field yet.",
                  properties=MappingProxyType({**type_meta(), "spec": open_object(),
                                               "status": open_object()}), open=True)


DEFINITIONS: dict[str, Schema] = {
    **_WRITTEN,
    **{definition_name(k): _open_kind(k) for k in kinds.SERVED
       if definition_name(k) not in _WRITTEN},
}


def resolve(s: Schema) -> Schema:
    while s.ref:
        s = DEFINITIONS[s.ref]
    return s


def unknown_fields(kind: Kind, obj: Any) -> list[str]:
    """The paths of the fields of ``obj`` its kind's schema does not know,
    as Kubernetes' strict decoding names them: ``spec.containers[0].imagePulPolicy``."""
    out: list[str] = []
    _walk(DEFINITIONS[definition_name(kind)], obj, "", out)
    return out


def _walk(s: Schema, value: Any, path: str, out: list[str]) -> None:
    s = resolve(s)
    if isinstance(value, dict) and s.type == "object":
        for k, v in value.items():
            sub = f"{path}.{k}" if path else str(k)
            if s.additional is not None:
                _walk(s.additional, v, sub, out)
            elif k in s.properties:
                _walk(s.properties[k], v, sub, out)
            elif not s.open:
                out.append(sub)
    elif isinstance(value, list) and s.items is not None:
        for i, v in enumerate(value):
            _walk(s.items, v, f"{path}[{i}]", out)
