"""Resolve a resource URL under one group-version to (kind, namespace, name, subresource).

Pure. Kubernetes' URL shapes, relative to ``/api/v1`` or ``/apis/<group>/<version>``::

    <plural>                              list across namespaces / cluster-scoped collection
    <plural>/<name>[/<sub>]               a cluster-scoped object
    namespaces/<ns>/<plural>              a namespaced collection
    namespaces/<ns>/<plural>/<name>[/<sub>]
"""

from __future__ import annotations

from dataclasses import dataclass

from coxapi import errors, kinds


@dataclass(frozen=True)
class Target:
    kind: kinds.Kind  # in its stored version: what the store, admission and caches take
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    at: kinds.Kind | None = None  # the kind at the version the URL names, if not the stored

    @property
    def served(self) -> kinds.Kind:
        """The kind at the URL's version: what request bodies and answers are in."""
        return self.at or self.kind

    @property
    def conversion(self) -> kinds.Conversion | None:
        return self.at.conversion if self.at is not None else None

    @property
    def object_name(self) -> str:
        """``name`` for a request on one object; the dispatcher sends only those
        to the handlers that ask."""
        if self.name is None:
            raise ValueError(f"a request on the {self.kind.plural} collection names no object")
        return self.name


# The registry is fixed at import: look kinds and prefixes up in tables built
# once, not in a regrouping of every kind per request.
_BY_PLURAL: dict[tuple[str, str], kinds.Kind] = {
    (gv, k.plural): k for gv, ks in kinds.group_versions().items() for k in ks}
_PREFIXES: tuple[tuple[str, str], ...] = tuple(
    (gv, ks[0].group_version_prefix + "/") for gv, ks in kinds.group_versions().items())
_NAMESPACE = kinds.lookup("Namespace")


def _not_found() -> errors.NotFound:
    return errors.NotFound("the server could not find the requested resource")


def _kind(group_version: str, plural: str) -> kinds.Kind:
    kind = _BY_PLURAL.get((group_version, plural))
    if kind is None:
        raise _not_found()
    return kind


def _check_sub(kind: kinds.Kind, sub: str | None) -> str | None:
    if sub is not None and sub not in kind.subresources:
        raise _not_found()
    return sub


def parse(group_version: str, rest: str) -> Target:
    parts = [p for p in rest.split("/") if p != ""]
    if not parts or len(parts) > 5:
        raise _not_found()
    if parts[0] == "namespaces" and len(parts) >= 3 and group_version == "v1" \
            and parts[2] in _NAMESPACE.subresources and len(parts) == 3:
        return Target(_NAMESPACE, None, parts[1], parts[2])
    if parts[0] == "namespaces" and len(parts) >= 3:
        kind = _kind(group_version, parts[2])
        if not kind.namespaced:
            raise _not_found()
        name = parts[3] if len(parts) >= 4 else None
        sub = _check_sub(kind, parts[4] if len(parts) == 5 else None)
        return _target(kind, parts[1], name, sub)
    if len(parts) > 3:
        raise _not_found()
    kind = _kind(group_version, parts[0])
    if kind.namespaced and len(parts) > 1:
        raise _not_found()
    name = parts[1] if len(parts) >= 2 else None
    return _target(kind, None, name, _check_sub(kind, parts[2] if len(parts) == 3 else None))


def _target(served: kinds.Kind, namespace: str | None, name: str | None,
            sub: str | None) -> Target:
    if served.conversion is None:
        return Target(served, namespace, name, sub)
    return Target(kinds.lookup(served.kind), namespace, name, sub, served)


def split(path: str) -> tuple[str, str] | None:
    """``(group_version, rest)`` of a URL path under a resource group-version's
    prefix (``/api/v1/...``, ``/apis/<group>/<version>/...``), else None."""
    for group_version, prefix in _PREFIXES:
        if path.startswith(prefix):
            return group_version, path[len(prefix):]
    return None
