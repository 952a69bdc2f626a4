"""The Swagger 2.0 document (``openapi.v2``) in gnostic's protobuf encoding,
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf``: the only form
client-go's ``OpenAPISchema()`` asks for, which kubectl uses to validate the
items of a ``kind: List`` manifest client-side.

A small hand-written encoder for the part of gnostic's ``openapi.v2``
messages (github.com/google/gnostic-models, openapiv2/OpenAPIv2.proto) our
document uses; field numbers below are that file's. Vendor extensions
(``x-…``), enums and defaults travel as ``Any.yaml`` text, which is how
kube-openapi reads them. A key the tables don't know raises ``ValueError``,
so a document the encoder cannot represent fails the unit tests instead of
losing fields. Pure."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# What a client may ask for (client-go asks for the first, whose "@" Go's
# mime parser refuses in a Content-Type) and what the answer is labelled.
MEDIA_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
               "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
CONTENT_TYPE = MEDIA_TYPES[1]

Obj = Mapping[str, Any]


# ---- wire format -----------------------------------------------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len(field: int, data: bytes) -> bytes:
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def _str(field: int, s: str) -> bytes:
    return _len(field, s.encode()) if s else b""


def _bool(field: int, b: bool) -> bytes:
    return _varint(field << 3) + b"\x01" if b else b""


def _strs(field: int, values: Iterable[str]) -> bytes:
    return b"".join(_len(field, v.encode()) for v in values)


def _any(value: Any) -> bytes:
    """gnostic ``Any``: the value as YAML text (JSON is YAML)."""
    return _str(2, json.dumps(value, separators=(",", ":")))


def _named(field: int, name: str, value: bytes) -> bytes:
    """One entry of gnostic's ordered maps (``NamedSchema``, ``NamedAny``, …)."""
    return _len(field, _str(1, name) + _len(2, value))


# ---- messages --------------------------------------------------------------

Encoder = Callable[[int, Any], bytes]


def _any_field(field: int, value: Any) -> bytes:
    return _len(field, _any(value))


def _any_fields(field: int, values: Iterable[Any]) -> bytes:
    return b"".join(_len(field, _any(v)) for v in values)


_STRING: Encoder = _str
_BOOL: Encoder = _bool
_STRINGS: Encoder = _strs
_ANY: Encoder = _any_field
_ANYS: Encoder = _any_fields


def _message(obj: Obj, fields: Mapping[str, tuple[int, Encoder]], ext: int,
             what: str) -> bytes:
    out = bytearray()
    for key, value in obj.items():
        if key.startswith("x-"):
            out += _named(ext, key, _any(value))
        elif key in fields:
            number, encode = fields[key]
            out += encode(number, value)
        else:
            raise ValueError(f"{what}: no protobuf field for {key!r}")
    return bytes(out)


def _msg(encode: Callable[[Any], bytes]) -> Encoder:
    return lambda f, v: _len(f, encode(v))


def _msgs(encode: Callable[[Any], bytes]) -> Encoder:
    return lambda f, v: b"".join(_len(f, encode(x)) for x in v)


def _schema(s: Obj) -> bytes:
    return _message(s, _SCHEMA, 31, "Schema")


def _additional(v: Any) -> bytes:
    return _bool(2, v) if isinstance(v, bool) else _len(1, _schema(v))


def _items(v: Any) -> bytes:
    return b"".join(_len(1, _schema(s)) for s in (v if isinstance(v, list) else [v]))


def _properties(props: Obj) -> bytes:
    return b"".join(_named(1, name, _schema(s)) for name, s in props.items())


def _type(v: Any) -> bytes:
    return _strs(1, v if isinstance(v, list) else [v])


_SCHEMA: dict[str, tuple[int, Encoder]] = {
    "$ref": (1, _STRING), "format": (2, _STRING), "title": (3, _STRING),
    "description": (4, _STRING), "default": (5, _ANY), "uniqueItems": (16, _BOOL),
    "required": (19, _STRINGS), "enum": (20, _ANYS),
    "additionalProperties": (21, _msg(_additional)), "type": (22, _msg(_type)),
    "items": (23, _msg(_items)), "allOf": (24, _msgs(_schema)),
    "properties": (25, _msg(_properties)), "readOnly": (27, _BOOL), "example": (30, _ANY),
}

# Non-body parameters: one message per location, numbered alike up to
# ``name``, then shifted by one where query and formData have allowEmptyValue.
_PARAM_HEAD = {"required": (1, _BOOL), "in": (2, _STRING), "description": (3, _STRING),
               "name": (4, _STRING)}
_PATH_OR_HEADER = {**_PARAM_HEAD, "type": (5, _STRING), "format": (6, _STRING),
                   "default": (9, _ANY), "uniqueItems": (19, _BOOL), "enum": (20, _ANYS)}
_QUERY_OR_FORM = {**_PARAM_HEAD, "allowEmptyValue": (5, _BOOL), "type": (6, _STRING),
                  "format": (7, _STRING), "default": (10, _ANY), "uniqueItems": (20, _BOOL),
                  "enum": (21, _ANYS)}
_NON_BODY = {"header": (1, _PATH_OR_HEADER, 22), "formData": (2, _QUERY_OR_FORM, 23),
             "query": (3, _QUERY_OR_FORM, 23), "path": (4, _PATH_OR_HEADER, 22)}
_BODY = {**_PARAM_HEAD, "schema": (5, _msg(_schema))}


def _parameter(p: Obj) -> bytes:
    """``ParametersItem``: a ``$ref`` or a ``Parameter`` (body or not)."""
    if "$ref" in p:
        return _len(2, _str(1, p["$ref"]))
    if p.get("in") == "body":
        return _len(1, _len(1, _message(p, _BODY, 6, "BodyParameter")))
    number, fields, ext = _NON_BODY[p["in"]]
    return _len(1, _len(2, _len(number, _message(p, fields, ext, f"{p['in']} parameter"))))


def _response(r: Obj) -> bytes:
    """``ResponseValue`` holding a ``Response`` (a ``SchemaItem`` wraps its schema)."""
    fields = {"description": (1, _STRING), "schema": (2, _msg(lambda s: _len(1, _schema(s))))}
    return _len(1, _message(r, fields, 5, "Response"))


def _responses(rs: Obj) -> bytes:
    return b"".join(_named(1, code, _response(r)) if not code.startswith("x-")
                    else _named(2, code, _any(r)) for code, r in rs.items())


_OPERATION = {"tags": (1, _STRINGS), "summary": (2, _STRING), "description": (3, _STRING),
              "operationId": (5, _STRING), "produces": (6, _STRINGS), "consumes": (7, _STRINGS),
              "parameters": (8, _msgs(_parameter)), "responses": (9, _msg(_responses)),
              "schemes": (10, _STRINGS), "deprecated": (11, _BOOL)}


def _operation(op: Obj) -> bytes:
    return _message(op, _OPERATION, 13, "Operation")


_PATH_ITEM = {"$ref": (1, _STRING), "get": (2, _msg(_operation)),
              "put": (3, _msg(_operation)), "post": (4, _msg(_operation)),
              "delete": (5, _msg(_operation)), "options": (6, _msg(_operation)),
              "head": (7, _msg(_operation)), "patch": (8, _msg(_operation)),
              "parameters": (9, _msgs(_parameter))}


def _paths(paths: Obj) -> bytes:
    return b"".join(_named(1, p, _any(v)) if p.startswith("x-") else
                    _named(2, p, _message(v, _PATH_ITEM, 10, f"path {p}"))
                    for p, v in paths.items())


def _info(info: Obj) -> bytes:
    fields = {"title": (1, _STRING), "version": (2, _STRING), "description": (3, _STRING)}
    return _message(info, fields, 7, "Info")


def _definitions(defs: Obj) -> bytes:
    return b"".join(_named(1, name, _schema(s)) for name, s in defs.items())


_DOCUMENT = {"swagger": (1, _STRING), "info": (2, _msg(_info)), "host": (3, _STRING),
             "basePath": (4, _STRING), "schemes": (5, _STRINGS), "consumes": (6, _STRINGS),
             "produces": (7, _STRINGS), "paths": (8, _msg(_paths)),
             "definitions": (9, _msg(_definitions))}


def encode_v2(doc: Obj) -> bytes:
    """gnostic ``openapi.v2.Document`` bytes of a Swagger 2.0 document."""
    return _message(doc, _DOCUMENT, 16, "Document")
