"""Strategic-merge-patch metadata of the kinds we serve: which lists merge by
which key (Kubernetes' ``patchStrategy``/``patchMergeKey`` struct tags, the
``x-kubernetes-patch-strategy``/``x-kubernetes-patch-merge-key`` of its
OpenAPI). A list not named here is replaced whole by a patch, as in
Kubernetes. The one source for ``coxapi.smp`` and the OpenAPI documents; each kind's
``Strategy.patch_fields`` puts together its own from the parts here.

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


def obj(**fields: Field) -> Field:
    """An object field with the metadata of its own fields."""
    return Field(fields=MappingProxyType(fields))


def merge_list(key: str = "", strategy: str = "merge") -> Field:
    """A list that merges: by ``key`` (objects) or as a set (scalars, no key)."""
    return Field(strategy, key)


_CONDITIONS = merge_list("type")

OBJECT_META = obj(
    finalizers=merge_list(),
    ownerReferences=merge_list("uid"),
)

CONTAINER = obj(
    ports=merge_list("containerPort"),
    env=merge_list("name"),
    volumeMounts=merge_list("mountPath"),
    volumeDevices=merge_list("devicePath"),
)

POD_SPEC = obj(
    containers=Field("merge", "name", CONTAINER.fields),
    initContainers=Field("merge", "name", CONTAINER.fields),
    ephemeralContainers=Field("merge", "name", CONTAINER.fields),
    volumes=merge_list("name", "merge,retainKeys"),
    imagePullSecrets=merge_list("name"),
    hostAliases=merge_list("ip"),
    topologySpreadConstraints=merge_list("topologyKey"),
    schedulingGates=merge_list("name"),
    resourceClaims=merge_list("name", "merge,retainKeys"),
)

POD_STATUS = obj(conditions=_CONDITIONS, podIPs=merge_list("ip"), hostIPs=merge_list("ip"))

POD_TEMPLATE = obj(metadata=OBJECT_META, spec=POD_SPEC)

CONDITIONS_STATUS = obj(conditions=_CONDITIONS)


def fields_of(**top: Field) -> Fields:
    """A kind's top-level patch metadata: ``metadata`` and the given fields."""
    return MappingProxyType({"metadata": OBJECT_META, **top})


# A kind with no lists that merge outside its metadata.
DEFAULT = fields_of()


def workload(**spec: Field) -> Fields:
    """A pod-template workload (ReplicaSet, Deployment) with extra spec fields."""
    return fields_of(spec=obj(template=POD_TEMPLATE, **spec), status=CONDITIONS_STATUS)
