"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``)
decoded to the JSON object Kubernetes would have been sent.

kubectl 1.32's typed clients (``create deployment|job|namespace|…``,
``autoscale``, ``drain``) send protobuf and do not fall back to JSON. A body
is the magic ``k8s\\x00`` and a ``runtime.Unknown`` {typeMeta{apiVersion=1,
kind=2}=1, raw=2, contentEncoding=3, contentType=4} whose ``raw`` is the typed
message; fields are read by :data:`coxapi.protoschema.MESSAGES`.

Go's generated marshalling writes every non-pointer field, empty or not; the
JSON it would have written leaves out the zero ones marked ``omitempty`` and
keeps a pointer's zero (``replicas: 0``), and so does :func:`decode`. What it
cannot read exactly it refuses: :class:`Unsupported` (an object or field it
does not know) or :class:`Malformed` (not protobuf); nothing is dropped.
Pure: bytes in, a dict out.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from .protoschema import MESSAGES, ROOTS

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
VARINT, FIXED64, BYTES, FIXED32 = 0, 1, 2, 5
_GO_ZERO_TIME = -62135596800  # 0001-01-01T00:00:00Z, Go's zero time, in Unix seconds
_SCALAR_WIRE = {"s": BYTES, "y": BYTES, "i": VARINT, "b": VARINT}


class Malformed(ValueError):
    """The bytes are not a well-formed Kubernetes protobuf body."""


class Unsupported(ValueError):
    """A well-formed body with an object or a field this server cannot read."""


class Field(NamedTuple):
    name: str  # "-": inline
    kind: str  # s y i b t q n r, "m:TYPE", "{KIND}"
    repeated: bool
    pointer: bool
    always: bool  # a scalar without omitempty: its zero value is kept


@cache
def fields(message: str) -> dict[int, Field]:
    spec = MESSAGES[message]
    out = {}
    for entry in spec.split("; "):
        number, name, kind = entry.split(" ")
        base = kind.rstrip("*?!")
        flags = kind[len(base):]
        out[int(number)] = Field(name, base, "*" in flags, "?" in flags, "!" in flags)
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body → the JSON object it stands for."""
    if not body.startswith(MAGIC):
        raise Malformed("the body does not start with the Kubernetes protobuf prefix k8s\\x00")
    unknown = _read(body[len(MAGIC):], "runtime.Unknown")
    type_meta: dict[str, str] = {}
    raw, encoding = b"", ""
    for number, wire, value in unknown:
        if number == 1:
            type_meta = _type_meta(_bytes(value, wire))
        elif number == 2:
            raw = _bytes(value, wire)
        elif number == 3:
            encoding = _text(_bytes(value, wire), "runtime.Unknown.contentEncoding")
    if encoding:
        raise Unsupported(f"a protobuf body with contentEncoding {encoding!r} is not supported")
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    message = ROOTS.get((api_version, kind))
    if message is None:
        raise Unsupported(f"protobuf bodies of kind {kind!r} (apiVersion {api_version!r}) are "
                          f"not supported; send it as application/json")
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": kind}
    obj.update(_message(raw, message))
    return obj


def _type_meta(data: bytes) -> dict[str, str]:
    out = {}
    for number, wire, value in _read(data, "runtime.TypeMeta"):
        if number in (1, 2):
            out["apiVersion" if number == 1 else "kind"] = _text(_bytes(value, wire),
                                                                 "runtime.TypeMeta")
    return out


# ---- the wire: (field number, wire type, value) ------------------------------

def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise Malformed("a varint runs past the end of its message")
        b = data[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise Malformed("a varint is longer than 10 bytes")


def _read(data: bytes, message: str) -> list[tuple[int, int, int | bytes]]:
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise Malformed(f"{message}: field number 0")
        if wire == VARINT:
            value, pos = _varint(data, pos)
            out.append((number, wire, value))
            continue
        if wire == BYTES:
            size, pos = _varint(data, pos)
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
        else:
            raise Malformed(f"{message}: field {number} has wire type {wire}, which is not used")
        if pos + size > len(data):
            raise Malformed(f"{message}: field {number} runs past the end of its message")
        out.append((number, wire, data[pos:pos + size]))
        pos += size
    return out


def _bytes(value: int | bytes, wire: int, where: str = "") -> bytes:
    if wire != BYTES or not isinstance(value, bytes):
        raise Malformed(f"{where or 'a field'}: expected a length-delimited value, "
                        f"got wire type {wire}")
    return value


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed(f"{where}: a string is not valid UTF-8") from None


def _signed(v: int) -> int:
    """int32/int64 are two's complement in 64 bits on the wire."""
    return v - (1 << 64) if v >= 1 << 63 else v


# ---- the schema: messages to JSON ---------------------------------------------

def _message(data: bytes, message: str) -> dict[str, Any]:
    table = fields(message)
    values: dict[int, Any] = {}
    for number, wire, value in _read(data, message):
        f = table.get(number)
        if f is None:
            raise Unsupported(f"{message}: unknown field number {number} (wire type {wire}); "
                              f"send this object as application/json")
        where = f"{message}.{f.name}"
        if f.repeated and wire == BYTES and f.kind in ("i", "b"):
            values.setdefault(number, []).extend(
                _scalar(f.kind, VARINT, v, where) for v in _packed(_bytes(value, wire), where))
        elif f.repeated:
            values.setdefault(number, []).append(_value(f.kind, wire, value, where))
        elif f.kind.startswith("{"):
            k, v = _entry(_bytes(value, wire, where), f.kind[1:-1], where)
            values.setdefault(number, {})[k] = v
        else:
            values[number] = _value(f.kind, wire, value, where)
    out: dict[str, Any] = {}
    for number, value in values.items():
        f = table[number]
        if f.name == "-":
            out.update(value)
        elif f.repeated or f.kind.startswith("{") or f.pointer or f.always:
            if value is not None:
                out[f.name] = value
        elif value not in (None, "", 0, {}):  # omitempty (False == 0)
            out[f.name] = value
    return out


def _packed(data: bytes, where: str) -> list[int]:
    out, pos = [], 0
    while pos < len(data):
        v, pos = _varint(data, pos)
        out.append(v)
    return out


def _entry(data: bytes, kind: str, where: str) -> tuple[str, Any]:
    key, value = "", _zero(kind)
    for number, wire, v in _read(data, f"{where} entry"):
        if number == 1:
            key = _text(_bytes(v, wire, where), where)
        elif number == 2:
            value = _value(kind, wire, v, where)
        else:
            raise Malformed(f"{where}: a map entry has field {number}")
    return key, value


def _zero(kind: str) -> Any:
    return {"s": "", "y": "", "i": 0, "b": False, "q": "0"}.get(kind, {})


def _value(kind: str, wire: int, value: int | bytes, where: str) -> Any:
    if kind in _SCALAR_WIRE:
        return _scalar(kind, wire, value, where)
    data = _bytes(value, wire, where)
    if kind.startswith("m:"):
        return _message(data, kind[2:])
    if kind == "t":
        return _time(data, where)
    if kind == "q":
        return _text(_only(data, where, 1).get(1, b""), where)
    if kind == "n":
        return _int_or_string(data, where)
    if kind == "r":
        raw = _only(data, where, 1).get(1, b"")
        try:
            return json.loads(raw) if raw else None
        except (ValueError, RecursionError):
            raise Malformed(f"{where}: the raw value is not JSON") from None
    raise AssertionError(f"{where}: kind {kind!r} in the schema")


def _scalar(kind: str, wire: int, value: int | bytes, where: str) -> Any:
    if wire != _SCALAR_WIRE[kind]:
        raise Malformed(f"{where}: wire type {wire} where {_SCALAR_WIRE[kind]} belongs")
    if kind == "s":
        return _text(_bytes(value, wire, where), where)
    if kind == "y":
        return base64.b64encode(_bytes(value, wire, where)).decode("ascii")
    assert isinstance(value, int)
    return _signed(value) if kind == "i" else value != 0


def _only(data: bytes, where: str, *numbers: int) -> dict[int, Any]:
    """A small special message's fields, every one known."""
    out: dict[int, Any] = {}
    for number, _wire, value in _read(data, where):
        if number not in numbers:
            raise Unsupported(f"{where}: unknown field number {number}")
        out[number] = value
    return out


def _time(data: bytes, where: str) -> str | None:
    f = _only(data, where, 1, 2)
    seconds = _signed(f.get(1, 0)) if isinstance(f.get(1, 0), int) else None
    if seconds is None:
        raise Malformed(f"{where}: seconds is not a varint")
    if seconds in (0, _GO_ZERO_TIME) and not f.get(2):
        return None  # a zero time: null in JSON, so absent
    try:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"{where}: {seconds} is out of range for a time") from None


def _int_or_string(data: bytes, where: str) -> int | str:
    f = _only(data, where, 1, 2, 3)
    if f.get(1, 0) == 1:
        return _text(_bytes(f.get(3, b""), BYTES, where), where)
    v = f.get(2, 0)
    if not isinstance(v, int):
        raise Malformed(f"{where}: intVal is not a varint")
    return _signed(v)
