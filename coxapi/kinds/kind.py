"""``Kind``: the names, group, scope and URL paths of one API kind, and the
strategy that says how the API server treats its objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from .strategy import Strategy


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
    strategy: Strategy = field(default_factory=Strategy, compare=False, repr=False)
    categories: tuple[str, ...] = ()  # discovery's groupings, e.g. "all" for `kubectl get all`

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version_prefix(self) -> str:
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    @property
    def has_status(self) -> bool:
        """The status is written through the status subresource only (a main
        update keeps the stored status)."""
        return "status" in self.subresources

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
