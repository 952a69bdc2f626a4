"""A compact way to write the schemas of the kinds we serve: what field
validation checks and what the OpenAPI documents describe (one source).

``Schema`` is a small subset of OpenAPI: scalars, objects with known
properties, maps, lists, references to named definitions, int-or-string, and
open objects (``x-kubernetes-preserve-unknown-fields``) for subtrees we keep
but do not describe field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Schema:
    type: str = ""  # string, integer, number, boolean, object, array; "" for a ref
    description: str = ""
    format: str = ""
    properties: Mapping[str, Schema] = field(default_factory=dict)
    additional: Schema | None = None  # the values of a map
    items: Schema | None = None  # the elements of a list
    ref: str = ""  # the name of a definition
    open: bool = False  # unknown fields are kept (x-kubernetes-preserve-unknown-fields)
    int_or_string: bool = False
    required: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()

    @property
    def closed_object(self) -> bool:
        """An object whose every field is known: others are unknown fields."""
        return self.type == "object" and not self.open and self.additional is None


def string(description: str = "", enum: tuple[str, ...] = (), format: str = "") -> Schema:
    return Schema("string", description, format, enum=enum)


def int32(description: str = "") -> Schema:
    return Schema("integer", description, "int32")


def int64(description: str = "") -> Schema:
    return Schema("integer", description, "int64")


def number(description: str = "") -> Schema:
    return Schema("number", description, "double")


def boolean(description: str = "") -> Schema:
    return Schema("boolean", description)


def int_or_string(description: str = "") -> Schema:
    return Schema("", description, "int-or-string", int_or_string=True)


def quantity(description: str = "") -> Schema:
    """A resource quantity (``500m``, ``64Mi``, ``2``)."""
    return Schema("", description, "quantity", int_or_string=True)


def time(description: str = "") -> Schema:
    return Schema("string", description, "date-time")


def obj(description: str = "", required: tuple[str, ...] = (), **properties: Schema) -> Schema:
    return obj_of(description, properties, required)


def obj_of(description: str, properties: Mapping[str, Schema],
           required: tuple[str, ...] = ()) -> Schema:
    """``obj`` with the properties in a mapping (gathered from parts)."""
    return Schema("object", description, properties=MappingProxyType(dict(properties)),
                  required=required)


def open_object(description: str = "") -> Schema:
    return Schema("object", description, open=True)


def map_of(values: Schema, description: str = "") -> Schema:
    return Schema("object", description, additional=values)


def list_of(items: Schema, description: str = "") -> Schema:
    return Schema("array", description, items=items)


def ref(name: str, description: str = "") -> Schema:
    return Schema("", description, ref=name)


def strings(description: str = "") -> Schema:
    return list_of(string(), description)


def labels(description: str = "") -> Schema:
    return map_of(string(), description)
