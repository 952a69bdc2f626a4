"""Validation of API objects, as Kubernetes validates them.

Pure: ``validate(obj)`` checks a (defaulted) object and raises ``Invalid``
whose ``details.causes`` name every offending field (``spec.containers[0].image``);
``validate_update(old, new)`` adds the rules about fields that cannot change.
Metadata is checked here for every kind; the rest is the kind's strategy
(``coxapi.kinds``), which calls the per-kind functions of this package.
"""

from __future__ import annotations

from typing import Any

from .. import kinds
from ..errors import Invalid
from ..kinds.strategy import Strategy
from .common import (
    DNS_POLICIES,
    PROTOCOLS,
    PULL_POLICIES,
    REQUIRED,
    RESTART_POLICIES,
    SERVICE_TYPES,
    TAINT_EFFECTS,
    TOLERATION_OPERATORS,
    Errors,
    dns1035_label,
    dns1123_label,
    dns1123_subdomain,
)
from .metadata import validate_metadata
from .pods import validate_pod_spec

Obj = dict[str, Any]

__all__ = [
    "DNS_POLICIES", "PROTOCOLS", "PULL_POLICIES", "REQUIRED", "RESTART_POLICIES",
    "SERVICE_TYPES", "TAINT_EFFECTS", "TOLERATION_OPERATORS", "Errors", "dns1035_label",
    "dns1123_label", "dns1123_subdomain", "errors_of", "validate", "validate_metadata",
    "validate_pod_spec", "validate_update",
]


# A kind the registry does not know gets the generic (namespaced) rules.
_GENERIC = Strategy()


def _strategy(obj: Obj) -> tuple[Strategy, bool]:
    """The strategy of ``obj``'s kind and whether that kind is namespaced."""
    kind = kinds.named(str(obj.get("kind", "")))
    return (kind.strategy, kind.namespaced) if kind is not None else (_GENERIC, True)


def errors_of(obj: Obj) -> list[tuple[str, str]]:
    """All (field, message) problems of ``obj``; empty when it is valid."""
    errs = Errors()
    if not isinstance(obj, dict):
        return [("", "must be an object")]
    strategy, namespaced = _strategy(obj)
    validate_metadata(errs, obj, strategy.name_check, namespaced)
    strategy.validate(errs, obj)
    return errs.causes


def _raise(obj: Obj, causes: list[tuple[str, str]]) -> None:
    if causes:
        name = obj.get("metadata", {}).get("name", "") if isinstance(obj.get("metadata"), dict) else ""
        raise Invalid.fields(str(obj.get("kind", "")), str(name or ""), causes)


def validate(obj: Obj) -> None:
    """Raise ``Invalid`` naming every bad field of ``obj``."""
    _raise(obj, errors_of(obj))


def validate_update(old: Obj, new: Obj) -> None:
    """Validate ``new`` and the rules about what may change from ``old``."""
    causes = errors_of(new)
    errs = Errors()
    _strategy(new)[0].validate_update(errs, old, new)
    _raise(new, causes + errs.causes)
