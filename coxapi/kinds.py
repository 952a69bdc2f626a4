"""The registry of API kinds: names, short names, groups and URL paths.

One table serves the API server (routing, storage keys), the client (paths)
and the CLI (``cox get po``), so a kind is declared once.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kind:
    kind: str
    plural: str
    group: str  # "" for the core group
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "get", "list", "patch", "update", "watch")
    )

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(
        self, namespace: str | None = None, name: str | None = None, subresource: str | None = None
    ) -> str:
        parts = [self.group_version_prefix]
        if self.namespaced and namespace:
            parts.append(f"/namespaces/{namespace}")
        parts.append(f"/{self.plural}")
        if name:
            parts.append(f"/{name}")
            if subresource:
                parts.append(f"/{subresource}")
        return "".join(parts)

    def storage_prefix(self, namespace: str | None = None) -> str:
        """Key prefix in the store: ``/registry/<plural>/[<namespace>/]``."""
        if self.namespaced and namespace:
            return f"/registry/{self.plural}/{namespace}/"
        return f"/registry/{self.plural}/"

    def storage_key(self, namespace: str | None, name: str) -> str:
        return self.storage_prefix(namespace if self.namespaced else None) + name


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "namespaces", "", "v1", False, ("ns",), ("status",)),
    Kind("Node", "nodes", "", "v1", False, ("no",), ("status",)),
    Kind("Pod", "pods", "", "v1", True, ("po",), ("status", "log")),
    Kind("Service", "services", "", "v1", True, ("svc",), ("status",)),
    Kind("Endpoints", "endpoints", "", "v1", True, ("ep",)),
    Kind("ConfigMap", "configmaps", "", "v1", True, ("cm",)),
    Kind("Secret", "secrets", "", "v1", True, ()),
    Kind("Event", "events", "", "v1", True, ("ev",)),
    Kind("ReplicaSet", "replicasets", "apps", "v1", True, ("rs",), ("status", "scale")),
    Kind("Deployment", "deployments", "apps", "v1", True, ("deploy",), ("status", "scale")),
    Kind("Lease", "leases", "coordination.k8s.io", "v1", True, ()),
)

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


def for_object(obj: dict) -> Kind:
    """The kind of a manifest object, checking its apiVersion matches."""
    kind = lookup(str(obj.get("kind", "")))
    if obj.get("apiVersion") not in (None, kind.api_version):
        raise UnknownKind(f'{obj.get("kind")} in {obj.get("apiVersion")}')
    return kind


def group_versions() -> dict[str, list[Kind]]:
    out: dict[str, list[Kind]] = {}
    for k in KINDS:
        out.setdefault(k.api_version, []).append(k)
    return out
