"""Field selectors (``spec.nodeName=n1,status.phase!=Running``), as Kubernetes
supports them: a small set of fields per kind, with ``=``, ``==`` and ``!=``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coxapi import errors, kinds

from ..watchcache import field_value

_COMMON = ("metadata.name", "metadata.namespace")
# The fields each kind's strategy lets a selector name.
SUPPORTED: dict[str, tuple[str, ...]] = {k.kind: k.strategy.field_selectors for k in kinds.KINDS}


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    equal: bool
    value: str


FieldSelector = tuple[FieldRequirement, ...]


def parse(text: str | None, kind: str) -> FieldSelector:
    """Parse a field selector for ``kind``; unknown fields are a 400 like Kubernetes."""
    if not text:
        return ()
    allowed = _COMMON + SUPPORTED.get(kind, ())
    reqs = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        op = next((o for o in ("!=", "==", "=") if o in part), None)
        if op is None:
            raise errors.BadRequest(f"fieldSelector: invalid selector {part!r}: "
                                    "expected field=value, field==value or field!=value")
        field, value = (s.strip() for s in part.split(op, 1))
        if field not in allowed:
            raise errors.BadRequest(f'fieldSelector: field label not supported: "{field}"')
        reqs.append(FieldRequirement(field, op != "!=", value))
    return tuple(reqs)


# one reading of a field's value, so the watch cache's index by a field
# files objects as a selector on that field compares them
value_of = field_value


def required_value(selector: FieldSelector, field: str | None) -> str | None:
    """The value ``selector`` requires ``field`` to have, if it requires one."""
    if field is None:
        return None
    return next((r.value for r in selector if r.field == field and r.equal), None)


def matches(selector: FieldSelector, obj: dict[str, Any]) -> bool:
    return all((value_of(obj, r.field) == r.value) == r.equal for r in selector)
