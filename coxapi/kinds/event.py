"""Events: records on a store lease (they expire with it), written by anyone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coxapi import defaults
from coxapi.timefmt import parse_time
from coxapi.validation import records
from coxapi.validation.common import Errors

from .columns import Column, age
from .kind import Kind
from .strategy import NodeWrite, Strategy

Obj = dict[str, Any]


def event_time(e: Obj) -> str | None:
    return (e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp")
            or (e.get("metadata") or {}).get("creationTimestamp"))


def _object(o: Obj, now: datetime) -> str:
    inv = o.get("involvedObject") or {}
    return f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"


class EventStrategy(Strategy):
    lease_backed = True
    create_on_update = True
    has_owners = False
    delete_last = True
    field_selectors = ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                       "involvedObject.uid", "involvedObject.apiVersion",
                       "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                       "reportingComponent", "source", "type")
    name_column = False
    columns = (
        Column("LAST SEEN", lambda o, now: age(event_time(o), now)),
        Column("TYPE", ".type"),
        Column("REASON", ".reason"),
        Column("OBJECT", _object),
        Column("MESSAGE", lambda o, now: " ".join(str(o.get("message") or "").split())),
    )

    def defaults(self, obj: Obj) -> None:
        defaults.event(obj)

    def validate(self, errs: Errors, obj: Obj) -> None:
        records.validate_event(errs, obj)

    def node_write(self, w: NodeWrite) -> str | None:
        return w.denied() if w.method == "DELETE" else None

    def sort_for_table(self, objs: list[Obj]) -> list[Obj]:
        """Oldest first (the newest end up at the bottom, near the prompt)."""
        return sorted(objs, key=lambda e: parse_time(event_time(e)) or datetime.min.replace(
            tzinfo=UTC))


KIND = Kind("Event", "events", "", "v1", True, ("ev",), strategy=EventStrategy())
