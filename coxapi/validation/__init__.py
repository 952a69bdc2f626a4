"""Validation of API objects, as Kubernetes validates them.

Pure: ``validate(obj)`` checks a (defaulted) object and raises ``Invalid``
whose ``details.causes`` name every offending field (``spec.containers[0].image``);
``validate_update(old, new)`` adds the rules about fields that cannot change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import Invalid
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
from .configdata import validate_config_map, validate_secret
from .metadata import validate_metadata
from .nodes import validate_lease, validate_node
from .pods import validate_pod, validate_pod_spec
from .records import validate_endpoints, validate_event
from .services import validate_service
from .updates import UPDATE_BY_KIND
from .workloads import validate_workload

Obj = dict[str, Any]

__all__ = [
    "DNS_POLICIES", "PROTOCOLS", "PULL_POLICIES", "REQUIRED", "RESTART_POLICIES",
    "SERVICE_TYPES", "TAINT_EFFECTS", "TOLERATION_OPERATORS", "Errors", "dns1035_label",
    "dns1123_label", "dns1123_subdomain", "errors_of", "validate", "validate_metadata",
    "validate_pod_spec", "validate_update",
]


_BY_KIND: dict[str, Callable[[Errors, Obj], None]] = {
    "Pod": validate_pod,
    "Service": validate_service,
    "ReplicaSet": validate_workload,
    "Deployment": validate_workload,
    "ConfigMap": validate_config_map,
    "Secret": validate_secret,
    "Node": validate_node,
    "Endpoints": validate_endpoints,
    "Event": validate_event,
    "Lease": validate_lease,
}


_CLUSTER_SCOPED = ("Namespace", "Node")


def errors_of(obj: Obj) -> list[tuple[str, str]]:
    """All (field, message) problems of ``obj``; empty when it is valid."""
    errs = Errors()
    if not isinstance(obj, dict):
        return [("", "must be an object")]
    kind = str(obj.get("kind", ""))
    validate_metadata(errs, obj, kind, kind not in _CLUSTER_SCOPED)
    fn = _BY_KIND.get(kind)
    if fn is not None:
        fn(errs, obj)
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
    fn = UPDATE_BY_KIND.get(str(new.get("kind", "")))
    if fn is not None:
        fn(errs, old, new)
    _raise(new, causes + errs.causes)
