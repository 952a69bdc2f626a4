"""``fieldValidation=Strict|Warn|Ignore``: what a write does about fields its
kind's schema (coxapi.schema) does not know, as Kubernetes does. ``Strict``
answers 400 naming them; ``Warn``, the default as in Kubernetes, answers with
a ``Warning`` header per field; ``Ignore`` says nothing. The fields are kept
either way (Kubernetes drops them; see coxapi.schema for what is known)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from coxapi import errors, kinds, schema

MODES = ("Ignore", "Warn", "Strict")
DEFAULT = "Warn"


def mode(query: Mapping[str, str]) -> str:
    value = query.get("fieldValidation") or DEFAULT
    if value not in MODES:
        raise errors.BadRequest(f"fieldValidation: unsupported value {value!r}: supported "
                                f"values: {', '.join(MODES)}")
    return value


def check(how: str, kind: kinds.Kind, obj: Any, known: Collection[str] = ()) -> list[str]:
    """The warnings for the unknown fields of ``obj`` (those not in ``known``,
    the unknown fields the stored object already had); raises ``BadRequest``
    under Strict."""
    if how == "Ignore":
        return []
    unknown = [f for f in schema.unknown_fields(kind, obj) if f not in known]
    if not unknown:
        return []
    if how == "Strict":
        listed = ", ".join(f'unknown field "{f}"' for f in unknown)
        raise errors.BadRequest(f'{kind.kind} in version "{kind.version}" cannot be handled as '
                                f'a {kind.kind}: strict decoding error: {listed}')
    return [f'unknown field "{f}"' for f in unknown]


def warning_header(text: str) -> str:
    """An RFC 7234 warning as Kubernetes sends it: ``299 - "<text>"``. The text
    names fields a client chose: what a header cannot carry (control characters,
    anything beyond printable ASCII) goes as a Python escape (``\\n``, ``\\xe4``)."""
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')
    return '299 - "' + "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode()
                               for c in quoted) + '"'
