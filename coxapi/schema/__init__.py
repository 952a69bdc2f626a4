"""The schemas of the kinds we serve, written once (``dsl``; definitions in
``meta``, ``core``, ``apps``): field validation finds unknown fields with
them and the OpenAPI documents (``openapi``) describe them. Definition names
are Kubernetes' (``io.k8s.api.core.v1.PodSpec``). Pure."""

from __future__ import annotations

from typing import Any

from ..kinds import Kind
from . import apps, core, meta
from .dsl import Schema

DEFINITIONS: dict[str, Schema] = {**meta.DEFINITIONS, **core.DEFINITIONS, **apps.DEFINITIONS}

_GROUP_PREFIX = {"": core.CORE, "apps": apps.APPS, "coordination.k8s.io": apps.COORDINATION}


def definition_name(kind: Kind) -> str:
    return _GROUP_PREFIX[kind.group] + kind.kind


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
