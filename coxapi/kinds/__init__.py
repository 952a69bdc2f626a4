"""The registry of API kinds: names, short names, groups, URL paths and, per
kind, the strategy that says how the API server, admission, the node
authorizer, the controllers and the CLI treat its objects.

One table serves the API server (routing, storage keys), the client (paths)
and the CLI (``cox get po``), so a kind is declared once: one module in this
package (its ``Kind`` and ``Strategy``) and one line in ``KINDS``.
"""

from __future__ import annotations

from . import (
    clusterrole,
    clusterrolebinding,
    configmap,
    cronjob,
    daemonset,
    deployment,
    endpoints,
    event,
    horizontalpodautoscaler,
    job,
    lease,
    namespace,
    node,
    persistentvolume,
    persistentvolumeclaim,
    pod,
    replicaset,
    resourcequota,
    role,
    rolebinding,
    secret,
    selfsubjectaccessreview,
    selfsubjectreview,
    service,
    serviceaccount,
    statefulset,
    storageclass,
)
from .kind import Conversion, Kind
from .strategy import Strategy

__all__ = ["KINDS", "SERVED", "Conversion", "Kind", "Strategy", "UnknownKind", "for_object",
           "group_versions", "lookup", "named"]

KINDS: tuple[Kind, ...] = (
    namespace.KIND,
    node.KIND,
    pod.KIND,
    service.KIND,
    endpoints.KIND,
    configmap.KIND,
    secret.KIND,
    event.KIND,
    replicaset.KIND,
    deployment.KIND,
    lease.KIND,
    resourcequota.KIND,
    statefulset.KIND,
    persistentvolume.KIND,
    persistentvolumeclaim.KIND,
    storageclass.KIND,
    job.KIND,
    cronjob.KIND,
    daemonset.KIND,
    horizontalpodautoscaler.KIND,
    serviceaccount.KIND,
    role.KIND,
    clusterrole.KIND,
    rolebinding.KIND,
    clusterrolebinding.KIND,
    selfsubjectaccessreview.KIND,
    selfsubjectreview.KIND,
)

# Every kind at every version it is served at: KINDS (each in its stored
# version), then the other versions some kinds are also served at.
SERVED: tuple[Kind, ...] = (*KINDS, *(v for k in KINDS for v in k.served_versions()[1:]))

_BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
_INDEX: dict[str, Kind] = {}
for _k in KINDS:
    for _name in (_k.kind, _k.plural, _k.singular, *_k.short_names):
        _INDEX[_name.lower()] = _k
    _INDEX[f"{_k.plural}.{_k.group}".lower()] = _k


class UnknownKind(KeyError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f'the server doesn\'t have a resource type "{self.name}"'


def lookup(name: str) -> Kind:
    """Find a kind by kind name, plural, singular or short name, any case."""
    try:
        return _INDEX[name.lower()]
    except KeyError:
        raise UnknownKind(name) from None


def named(kind: str) -> Kind | None:
    """The kind whose ``kind`` is exactly this (an object's ``kind`` field), or None."""
    return _BY_KIND.get(kind)


def for_object(obj: dict) -> Kind:
    """The kind of a manifest object, at the version its apiVersion names (the
    stored one if it names none)."""
    kind = lookup(str(obj.get("kind", "")))
    if obj.get("apiVersion") in (None, kind.api_version):  # the stored version: most objects
        return kind
    for served in kind.served_versions():
        if obj["apiVersion"] == served.api_version:
            return served
    raise UnknownKind(f'{obj.get("kind")} in {obj.get("apiVersion")}')


def group_versions() -> dict[str, list[Kind]]:
    """Every group-version served, with its kinds (at that version)."""
    out: dict[str, list[Kind]] = {}
    for k in SERVED:
        out.setdefault(k.api_version, []).append(k)
    return out
