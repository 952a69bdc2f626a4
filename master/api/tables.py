"""Content negotiation for server-side printing: whether a read asks for a
``meta.k8s.io`` Table (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``,
as kubectl sends it) and with what ``includeObject``. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from coxapi import errors, kinds, table

Obj = dict[str, Any]

_JSON_TYPES = ("application/json", "application/*", "*/*")


@dataclass(frozen=True)
class TableRequest:
    version: str  # of meta.k8s.io: v1 or v1beta1
    include: str  # None, Metadata or Object

    @property
    def content_type(self) -> str:
        return f"application/json;as=Table;v={self.version};g=meta.k8s.io"

    def render(self, kind: kinds.Kind, objs: list[Obj], metadata: Obj | None = None,
               now: datetime | None = None) -> Obj:
        return table.table(kind, objs, now or datetime.now(UTC), include=self.include,
                           table_version=self.version, metadata=metadata)

    def encode(self, kind: kinds.Kind, objs: list[Obj], metadata: Obj | None = None) -> bytes:
        return json.dumps(self.render(kind, objs, metadata), separators=(",", ":")).encode()


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        params = {}
        for f in fields[1:]:
            k, _, v = f.partition("=")
            params[k.strip().lower()] = v.strip()
        out.append((fields[0].lower(), params))
    return out


def requested(accept: str | None, query: Mapping[str, str]) -> TableRequest | None:
    """The Table a request asks for, or None for plain JSON. The first media
    range we can serve wins; 406 when the client accepts only transformed
    forms (``as=...``) that we do not serve."""
    transformed_only = False
    for mtype, params in _media_ranges(accept or ""):
        if mtype not in _JSON_TYPES:
            continue
        if "as" not in params:
            return None
        if (params["as"] == "Table" and params.get("g") == "meta.k8s.io"
                and params.get("v") in table.TABLE_VERSIONS):
            include = query.get("includeObject") or "Metadata"
            if include not in table.INCLUDE_VALUES:
                raise errors.BadRequest(f"includeObject: unsupported value {include!r}: "
                                        f"supported values: {', '.join(table.INCLUDE_VALUES)}")
            return TableRequest(params["v"], include)
        transformed_only = True
    if transformed_only:
        raise errors.ApiError.from_status({
            "code": 406, "reason": "NotAcceptable",
            "message": "only the following media types are accepted: application/json, "
                       "application/json;as=Table;v=v1;g=meta.k8s.io"})
    return None
