"""Events expire with the store lease each write takes (master.eventleases),
the leader's as well as the API's; the leader's event collector expires only
the Events stored without one, and pages through the Events once a term."""

from __future__ import annotations

from coxapi import timefmt
from master.controllers.base import Context
from master.controllers.config import ControllerConfig
from master.controllers.eventgc import EventGarbageCollector
from master.controllers.testing import FakeClock
from master.objects import ObjectStore
from raftstore import MemoryStore

TARGET = {"kind": "Pod", "apiVersion": "v1",
          "metadata": {"name": "p", "namespace": "default", "uid": "u"}}


def _context(clock: FakeClock) -> tuple[Context, MemoryStore]:
    store = MemoryStore(clock=clock.monotonic)
    cfg = ControllerConfig(clock=clock, monotonic=clock.monotonic, event_ttl=3600.0,
                           sync_throttle=0.0)
    return Context(ObjectStore(store, clock=clock), cfg), store


def _names(ctx: Context) -> set[str]:
    return {e["metadata"]["name"] for e in ctx.objects.list("Event", "default")[0]}


def test_a_controllers_event_lives_its_ttl_after_its_last_write():
    clock = FakeClock()
    ctx, store = _context(clock)
    rec = ctx.recorder("test")
    rec.normal(TARGET, "Pulled", "first")
    [name] = _names(ctx)
    key = f"/registry/events/default/{name}"
    first = store.get(key).lease
    assert first != 0
    clock.advance(3000)
    rec.normal(TARGET, "Pulled", "again")  # folded into the Event, on the lease of now
    kv = store.get(key)
    assert kv.value["count"] == 2 and kv.lease not in (0, first)
    clock.advance(3000)  # past the first lease, 3,000 s after the last write
    store.expire_leases()
    assert store.get(key) is not None
    clock.advance(700)  # past the TTL (and the lease's minute of sharing) after the last write
    store.expire_leases()
    assert store.get(key) is None


def test_events_stored_without_a_lease_expire_by_the_collector_found_once_a_term():
    clock = FakeClock()
    ctx, store = _context(clock)

    def stored(name: str, age: float, lease: int = 0) -> None:
        ctx.objects.create({"apiVersion": "v1", "kind": "Event",
                            "metadata": {"name": name, "namespace": "default"},
                            "involvedObject": TARGET["metadata"], "reason": "Pulled",
                            "lastTimestamp": timefmt.rfc3339(clock() - age), "count": 1},
                           lease=lease)

    stored("old", 4000)
    stored("recent", 100)
    stored("rewritten", 100)
    stored("leased", 4000, lease=store.lease_grant(100_000))
    gc = EventGarbageCollector(ctx)
    assert gc.reconcile("expire") is None
    assert _names(ctx) == {"recent", "rewritten", "leased"}
    # written again before its time: the write gave it a lease, the collector leaves it
    ctx.objects.guaranteed_update("Event", "default", "rewritten",
                                  lambda ev: {**ev, "count": 2},
                                  lease=ctx.event_leases.current())
    stored("late", 4000)  # after the term's sweep: a pass looks only at what it found due
    clock.advance(3600)
    gc.reconcile("expire")
    assert _names(ctx) == {"rewritten", "leased", "late"}
    # a new term sweeps again
    EventGarbageCollector(ctx).reconcile("expire")
    assert _names(ctx) == {"rewritten", "leased"}
