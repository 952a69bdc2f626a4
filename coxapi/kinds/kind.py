"""``Kind``: the names, group, scope and URL paths of one API kind, and the
strategy that says how the API server treats its objects."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .strategy import Strategy

Obj = dict[str, Any]


@dataclass(frozen=True)
class Conversion:
    """Another version a kind is served at, as Kubernetes serves several
    versions of one kind: objects are stored in the kind's own version only and
    the API converts at its edge (a request's object in, every object out,
    watch events too). Both functions are pure, take a whole object (or the
    partial one a server-side apply sends) and return a new one."""
    version: str
    to_stored: Callable[[Obj], Obj]
    from_stored: Callable[[Obj], Obj]


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
    # The other versions it is also served at (the stored kind only) ...
    conversions: tuple[Conversion, ...] = field(default=(), compare=False, repr=False)
    # ... and, on the kind as served at one of them (``at``), how to convert
    conversion: Conversion | None = field(default=None, compare=False, repr=False)

    def from_stored(self, obj: Obj) -> Obj:
        """A stored object as this kind's version shows it."""
        return obj if self.conversion is None else self.conversion.from_stored(obj)

    def to_stored(self, obj: Obj) -> Obj:
        """An object in this kind's version, in the stored version."""
        return obj if self.conversion is None else self.conversion.to_stored(obj)

    def served_versions(self) -> tuple[Kind, ...]:
        """This kind at every version it is served at, its stored one first."""
        return (self, *(self.at(c) for c in self.conversions))

    def at(self, conversion: Conversion) -> Kind:
        """This kind as served at another version: the same names, storage
        and strategy; ``version`` and paths that version's."""
        return replace(self, version=conversion.version, conversions=(),
                       conversion=conversion)

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
