"""Strategic-merge-patch metadata of the kinds we serve: which lists merge by
which key (Kubernetes' ``patchStrategy``/``patchMergeKey`` struct tags, the
``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key`` of its
OpenAPI). A list not named here is replaced whole by a patch, as in
Kubernetes. The one source for ``coxapi.smp`` and the OpenAPI documents.

A ``Fields`` maps a field name to its ``Field``: ``strategy`` ("merge",
"retainKeys", "merge,retainKeys" or "" for none), ``key`` (the merge key of a
list of objects; "" for a list of scalars that merges as a set) and
``fields`` (the metadata below it: of the object, or of each list element).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True)
class Field:
    strategy: str = ""
    key: str = ""
    fields: Mapping[str, Field] = field(default_factory=dict)

    @property
    def merges(self) -> bool:
        return "merge" in self.strategy.split(",")


Fields = Mapping[str, Field]


def _f(strategy: str = "", key: str = "") -> Field:
    return Field(strategy, key)


def _obj(**fields: Field) -> Field:
    return Field(fields=MappingProxyType(fields))


_CONDITIONS = _f("merge", "type")

OBJECT_META = _obj(
    finalizers=_f("merge"),
    ownerReferences=_f("merge", "uid"),
)

CONTAINER = _obj(
    ports=_f("merge", "containerPort"),
    env=_f("merge", "name"),
    volumeMounts=_f("merge", "mountPath"),
    volumeDevices=_f("merge", "devicePath"),
)

POD_SPEC = _obj(
    containers=Field("merge", "name", CONTAINER.fields),
    initContainers=Field("merge", "name", CONTAINER.fields),
    ephemeralContainers=Field("merge", "name", CONTAINER.fields),
    volumes=_f("merge,retainKeys", "name"),
    imagePullSecrets=_f("merge", "name"),
    hostAliases=_f("merge", "ip"),
    topologySpreadConstraints=_f("merge", "topologyKey"),
    schedulingGates=_f("merge", "name"),
    resourceClaims=_f("merge,retainKeys", "name"),
)

POD_STATUS = _obj(conditions=_CONDITIONS, podIPs=_f("merge", "ip"), hostIPs=_f("merge", "ip"))

POD_TEMPLATE = _obj(metadata=OBJECT_META, spec=POD_SPEC)

_WORKLOAD_SPEC = dict(template=POD_TEMPLATE)

# Per kind: the metadata of its top-level fields.
BY_KIND: Mapping[str, Fields] = MappingProxyType({
    "Pod": MappingProxyType({"metadata": OBJECT_META, "spec": POD_SPEC, "status": POD_STATUS}),
    "Deployment": MappingProxyType({
        "metadata": OBJECT_META,
        "spec": _obj(strategy=_f("retainKeys"), **_WORKLOAD_SPEC),
        "status": _obj(conditions=_CONDITIONS)}),
    "ReplicaSet": MappingProxyType({
        "metadata": OBJECT_META, "spec": _obj(**_WORKLOAD_SPEC),
        "status": _obj(conditions=_CONDITIONS)}),
    "Service": MappingProxyType({
        "metadata": OBJECT_META, "spec": _obj(ports=_f("merge", "port")),
        "status": _obj(conditions=_f("merge", "type"))}),
    "Node": MappingProxyType({
        "metadata": OBJECT_META, "spec": _obj(podCIDRs=_f("merge")),
        "status": _obj(conditions=_CONDITIONS, addresses=_f("merge", "type"))}),
    "Namespace": MappingProxyType({"metadata": OBJECT_META,
                                   "status": _obj(conditions=_CONDITIONS)}),
})

_DEFAULT: Fields = MappingProxyType({"metadata": OBJECT_META})


def for_kind(kind: str) -> Fields:
    """The patch metadata of a kind's objects (metadata only for kinds without lists that merge)."""
    return BY_KIND.get(kind, _DEFAULT)
