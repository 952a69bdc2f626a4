"""Which watch filters an event batch is checked against.

The watchers of one kind are grouped by filter: equal filters share one check
per event. A filter that asks for one value of its kind's trigger field (a
pod's ``spec.nodeName``: every node agent watches its own pods) is also filed
under that value, so an event is checked against the filters of its own value
and the unindexed ones, not against every node's: with 100 nodes, a pod event
costs two checks instead of a hundred. Kubernetes' watch cache does the same
with its trigger functions (pods by node name).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from ..watchcache import INDEXED_FIELDS
from . import fields

# the field whose wanted value files a filter, by resource: the one the
# watch cache keeps its objects by as well
TRIGGER_FIELDS = INDEXED_FIELDS


class Routable(Protocol):
    """A watch filter (``master.api.watch.Filter``)."""

    @property
    def field_selector(self) -> fields.FieldSelector: ...

    def matches(self, e: Any) -> bool: ...


class _Event(Protocol):
    entry: Any  # a watch cache Entry: ``.obj`` is the stored object


F = TypeVar("F", bound=Routable)
W = TypeVar("W", bound=Hashable)
E = TypeVar("E", bound=_Event)


class FilterGroups(Generic[F, W]):
    def __init__(self, trigger: str | None = None) -> None:
        self.trigger = trigger
        self.watchers: dict[F, set[W]] = {}
        # dicts as ordered sets: filters with no trigger value, and by value
        self._unindexed: dict[F, None] = {}
        self._by_value: dict[str, dict[F, None]] = {}

    def __len__(self) -> int:
        return len(self.watchers)

    def trigger_value(self, filt: F) -> str | None:
        """The value ``filt`` requires of the trigger field, if it requires one."""
        return fields.required_value(filt.field_selector, self.trigger)

    def add(self, filt: F, watcher: W) -> None:
        members = self.watchers.get(filt)
        if members is None:
            members = self.watchers[filt] = set()
            value = self.trigger_value(filt)
            if value is None:
                self._unindexed[filt] = None
            else:
                self._by_value.setdefault(value, {})[filt] = None
        members.add(watcher)

    def remove(self, filt: F, watcher: W) -> None:
        members = self.watchers.get(filt)
        if members is None:
            return
        members.discard(watcher)
        if members:
            return
        del self.watchers[filt]
        value = self.trigger_value(filt)
        if value is None:
            self._unindexed.pop(filt, None)
            return
        filed = self._by_value.get(value)
        if filed is not None:
            filed.pop(filt, None)
            if not filed:
                del self._by_value[value]

    def route(self, batch: list[E]) -> Iterator[tuple[F, list[E]]]:
        """Each filter that matches events of ``batch``, with those events in order."""
        for filt in list(self._unindexed):
            events = [ev for ev in batch if filt.matches(ev.entry)]
            if events:
                yield filt, events
        if not self._by_value or self.trigger is None:
            return
        by_value: dict[str, list[E]] = {}
        for ev in batch:
            by_value.setdefault(fields.value_of(ev.entry.obj, self.trigger), []).append(ev)
        for value, candidates in by_value.items():
            for filt in list(self._by_value.get(value, ())):
                events = [ev for ev in candidates if filt.matches(ev.entry)]
                if events:
                    yield filt, events
