"""Values that cross the store's public interface. All immutable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal["PUT", "DELETE"]
CompareTarget = Literal["mod_revision", "version", "create_revision", "exists"]
CompareOp = Literal["==", "!=", "<", ">"]

COMPARE_TARGETS = ("mod_revision", "version", "create_revision", "exists")
COMPARE_OPS = ("==", "!=", "<", ">")


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key at one revision. ``value`` is a JSON object decoded for each
    reader (a read, a write's result, each watcher's event): the reader's own."""

    key: str
    value: dict[str, Any]
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """A change at ``revision``. On DELETE ``kv.value`` is the last value and
    ``kv.mod_revision`` is the delete revision."""

    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None
    revision: int


@dataclass(frozen=True, slots=True)
class RangeResult:
    kvs: list[KeyValue]
    revision: int
    more: bool


@dataclass(frozen=True, slots=True)
class TxnResult:
    """``results`` holds one entry per op of the branch taken: the new KeyValue
    for a put, the deleted KeyValue (or None) for a delete, the count for a
    delete_prefix and the KeyValue (or None) for a get."""

    succeeded: bool
    revision: int
    results: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Compare:
    """``target`` of ``key`` compared with ``value`` by ``op``. An absent key has
    mod/create revision and version 0; ``exists`` compares with True/False."""

    key: str
    target: CompareTarget = "mod_revision"
    op: CompareOp = "=="
    value: Any = 0


@dataclass(frozen=True, slots=True)
class Op:
    kind: Literal["put", "delete", "delete_prefix", "get"]
    key: str
    value: dict[str, Any] | None = None
    lease: int = 0

    @staticmethod
    def put(key: str, value: dict[str, Any], lease: int = 0) -> Op:
        return Op("put", key, value, lease)

    @staticmethod
    def delete(key: str) -> Op:
        return Op("delete", key)

    @staticmethod
    def delete_prefix(prefix: str) -> Op:
        return Op("delete_prefix", prefix)

    @staticmethod
    def get(key: str) -> Op:
        return Op("get", key)
