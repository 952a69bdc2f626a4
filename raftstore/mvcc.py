"""The replicated state machine: a revisioned key-value map with leases and a
bounded watch history.

``MVCCState.apply(command)`` is a pure function of (state, command): no clock,
no randomness, no I/O. Times arrive in the command (``ts``), limits too, so
every replica that applies the same log ends in the same state. The state is
picklable as a whole (Raft snapshots).

Results are returned, never raised: a failed command returns a ``StoreError``
instance, which the proposer raises on its side.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict, deque
from typing import Any, NamedTuple

from .config import StoreConfig
from .errors import (
    Compacted,
    CompareFailed,
    InvalidArgument,
    KeyNotFound,
    LeaseNotFound,
    QuotaExceeded,
    StoreError,
)
from .types import Event, EventType, KeyValue, RangeResult, TxnResult

# Results of recent requests, so a proposal retried after a leader change
# returns its first result instead of being applied twice.
REQUEST_TABLE_SIZE = 16384

# (quota bytes, history events, history seconds) until a command brings its own
DEFAULT_LIMITS = StoreConfig().limits()

# The quota counts live keys and values only: history is what compaction can
# free, so it is compacted (oldest revisions first) once the whole passes
# COMPACT_AT of the quota, down to COMPACT_TO. A write refused for space
# raises the NOSPACE alarm; it clears by itself once live data is back under
# ALARM_CLEAR of the quota (etcd needs compact + defrag + alarm disarm).
COMPACT_AT = 0.9
COMPACT_TO = 0.75
ALARM_CLEAR = 0.9
NOSPACE = "NOSPACE"
# An update of an existing key that grows it by at most HEARTBEAT_GROWTH bytes
# (a Node or Lease status rewrite whose resourceVersion gained a digit) may
# use a reserve of RESERVE of the quota above it: heartbeats keep working.
HEARTBEAT_GROWTH = 256
RESERVE = 0.05


class Record(NamedTuple):
    raw: str  # the value as JSON
    create_revision: int
    mod_revision: int
    version: int
    lease: int


class HistoryEntry(NamedTuple):
    revision: int
    ts: float
    type: EventType
    key: str
    rec: Record  # the new record; for DELETE the last value at the delete revision
    prev: Record | None


def to_kv(key: str, rec: Record) -> KeyValue:
    return KeyValue(key, json.loads(rec.raw), rec.create_revision, rec.mod_revision,
                    rec.version, rec.lease)


class KVRef(NamedTuple):
    """A key's record as returned by apply; decoded into a KeyValue by the
    proposer (``materialize``), so replicas that only follow the log never pay
    for decoding values they do not hand out."""

    key: str
    rec: Record


def materialize(result: Any) -> Any:
    if isinstance(result, KVRef):
        return to_kv(result.key, result.rec)
    if isinstance(result, list):
        return [materialize(r) for r in result]
    return result


def to_event(h: HistoryEntry, prev_kv: bool = True) -> Event:
    """``prev_kv`` False: without the previous value (its decoding costs as much)."""
    return Event(h.type, to_kv(h.key, h.rec),
                 to_kv(h.key, h.prev) if prev_kv and h.prev else None, h.revision)


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix + "\U0010ffff"


class Lease(NamedTuple):
    id: int
    ttl: float
    keys: set[str]  # changed in place: a copy per put was O(keys on the lease)


def _matches(actual: Any, op: str, want: Any) -> bool:
    if op == "==":
        return actual == want
    if op == "!=":
        return actual != want
    if op == "<":
        return actual < want
    return actual > want


class MVCCState:
    """Invariants: ``revision`` grows by one per committed change (a txn is one
    change); ``history`` holds every event with revision > ``compact_revision``
    in order; ``keys`` is the sorted list of live keys."""

    def __init__(self) -> None:
        self.revision = 0
        self.compact_revision = 0
        self.data: dict[str, Record] = {}
        self.keys: list[str] = []
        self.history: deque[HistoryEntry] = deque()
        self.leases: dict[int, Lease] = {}
        self.next_lease_id = 1
        self.requests: OrderedDict[str, Any] = OrderedDict()
        self.live_bytes = 0
        self.history_bytes = 0
        self.limits = DEFAULT_LIMITS
        self.nospace = False  # the NOSPACE alarm (replicated: every replica agrees)
        self._ts = 0.0
        self._events: list[HistoryEntry] = []

    # ---- the replicated entry point ----

    def apply(self, command: dict) -> Any:
        return materialize(self.apply_with_events(command)[0])

    def apply_with_events(self, command: dict) -> tuple[Any, list[HistoryEntry]]:
        """Apply one command; return its result (KVRefs not yet decoded: see
        ``materialize``) and the events it produced."""
        self._events = []
        if command.get("op") == "batch":
            self._ts = max(self._ts, float(command["ts"]))
            self.limits = tuple(command["lim"])
            result: Any = [self._apply_one(c) for c in command["cmds"]]
            self._compact_by_limits()
            self._compact_for_space()
        else:
            result = self._apply_one(command)
        events, self._events = self._events, []
        return result, events

    def _apply_one(self, cmd: dict) -> Any:
        rid = cmd.get("rid")
        if rid is not None and rid in self.requests:
            return self.requests[rid]
        try:
            result = getattr(self, "_op_" + cmd["op"])(cmd)
        except StoreError as e:
            result = e
        if rid is not None:
            self.requests[rid] = result
            if len(self.requests) > REQUEST_TABLE_SIZE:
                self.requests.popitem(last=False)
        return result

    # ---- reads (not replicated; callers hold the store's lock) ----

    def get(self, key: str) -> KeyValue | None:
        rec = self.data.get(key)
        return to_kv(key, rec) if rec else None

    def range(self, prefix: str, limit: int = 0, start_after: str | None = None) -> RangeResult:
        lo = bisect.bisect_left(self.keys, prefix)
        if start_after is not None and start_after >= prefix:
            lo = max(lo, bisect.bisect_right(self.keys, start_after))
        hi = bisect.bisect_left(self.keys, prefix_end(prefix))
        more = False
        if limit and hi - lo > limit:
            hi, more = lo + limit, True
        kvs = [to_kv(k, self.data[k]) for k in self.keys[lo:hi]]
        return RangeResult(kvs, self.revision, more)

    def history_from(self, prefix: str, start_revision: int) -> list[HistoryEntry]:
        """Retained events on ``prefix`` with revision >= start_revision."""
        if start_revision <= self.compact_revision:
            raise Compacted(self.compact_revision)
        return [h for h in self.history
                if h.revision >= start_revision and h.key.startswith(prefix)]

    @property
    def db_size(self) -> int:
        return self.live_bytes + self.history_bytes

    # ---- key changes (each bumps or shares the current revision) ----

    def _set(self, key: str, raw: str, lease: int, rev: int) -> Record:
        prev = self.data.get(key)
        if prev is None:
            rec = Record(raw, rev, rev, 1, lease)
            bisect.insort(self.keys, key)
            self.live_bytes += len(key) + len(raw)
        else:
            rec = Record(raw, prev.create_revision, rev, prev.version + 1, lease)
            self.live_bytes += len(raw) - len(prev.raw)
            if prev.lease and prev.lease != lease:
                self._detach(prev.lease, key)
        if lease and (prev is None or prev.lease != lease):
            self.leases[lease].keys.add(key)
        self.data[key] = rec
        self._record(HistoryEntry(rev, self._ts, "PUT", key, rec, prev))
        return rec

    def _remove(self, key: str, rev: int) -> Record:
        prev = self.data.pop(key)
        del self.keys[bisect.bisect_left(self.keys, key)]
        self.live_bytes -= len(key) + len(prev.raw)
        if prev.lease:
            self._detach(prev.lease, key)
        tomb = prev._replace(mod_revision=rev)
        self._record(HistoryEntry(rev, self._ts, "DELETE", key, tomb, prev))
        return prev

    def _detach(self, lease_id: int, key: str) -> None:
        ls = self.leases.get(lease_id)
        if ls is not None:
            ls.keys.discard(key)

    def _record(self, h: HistoryEntry) -> None:
        self.history.append(h)
        self.history_bytes += len(h.key) + len(h.rec.raw)
        self._events.append(h)

    def _prefix_keys(self, prefix: str) -> list[str]:
        lo = bisect.bisect_left(self.keys, prefix)
        hi = bisect.bisect_left(self.keys, prefix_end(prefix))
        return self.keys[lo:hi]

    def _growth(self, key: str, raw: str) -> int:
        """How much a put of ``raw`` at ``key`` grows the live data."""
        prev = self.data.get(key)
        return len(key) + len(raw) if prev is None else len(raw) - len(prev.raw)

    def _is_small_update(self, key: str, raw: str) -> bool:
        prev = self.data.get(key)
        return prev is not None and len(raw) - len(prev.raw) <= HEARTBEAT_GROWTH

    def _check_quota(self, growth: int, small_updates: bool) -> None:
        """Writes that do not grow the live data (deletes, a status rewritten
        at the same size) always pass, and small updates of existing keys may
        use the reserve, so a full store can still be emptied and its nodes
        stay alive."""
        quota = self.limits[0]
        limit = quota * (1 + RESERVE) if small_updates else quota
        if growth > 0 and self.live_bytes + growth > limit:
            self.nospace = True
            raise QuotaExceeded(self.live_bytes, quota)

    @property
    def alarms(self) -> list[str]:
        return [NOSPACE] if self.nospace else []

    def _check_lease(self, lease: int) -> None:
        if lease and lease not in self.leases:
            raise LeaseNotFound(lease)

    def _compare_rev(self, key: str, expect: int | None) -> None:
        if expect is None:
            return
        cur = self.data.get(key)
        have = cur.mod_revision if cur else 0
        if have != expect:
            raise CompareFailed(key, to_kv(key, cur) if cur else None)

    # ---- operations ----

    def _op_noop(self, cmd: dict) -> int:
        return self.revision

    def _op_put(self, cmd: dict) -> KVRef:
        key, raw, lease = cmd["k"], cmd["v"], cmd["l"]
        self._compare_rev(key, cmd.get("e"))
        self._check_lease(lease)
        self._check_quota(self._growth(key, raw), self._is_small_update(key, raw))
        self.revision += 1
        return KVRef(key, self._set(key, raw, lease, self.revision))

    def _op_del(self, cmd: dict) -> KVRef:
        key = cmd["k"]
        if key not in self.data:
            if cmd.get("e") not in (None, 0):
                raise CompareFailed(key, None)
            raise KeyNotFound(key)
        self._compare_rev(key, cmd.get("e"))
        self.revision += 1
        return KVRef(key, self._remove(key, self.revision))

    def _op_delp(self, cmd: dict) -> int:
        keys = self._prefix_keys(cmd["k"])
        if keys:
            self.revision += 1
            for k in keys:
                self._remove(k, self.revision)
        return len(keys)

    def _compare_holds(self, c: tuple) -> bool:
        key, target, op, want = c
        rec = self.data.get(key)
        if target == "exists":
            actual: Any = rec is not None
        elif rec is None:
            actual = 0
        else:
            actual = getattr(rec, target)
        return _matches(actual, op, want)

    def _op_txn(self, cmd: dict) -> TxnResult:
        ok = all(self._compare_holds(c) for c in cmd["c"])
        ops = cmd["s"] if ok else cmd["f"]
        # validate the whole branch first so a txn applies all or nothing
        growth, small_updates = 0, True
        for o in ops:
            if o[0] == "put":
                self._check_lease(o[3])
                growth += self._growth(o[1], o[2])
                small_updates = small_updates and self._is_small_update(o[1], o[2])
        self._check_quota(growth, small_updates)
        rev = self.revision + 1
        changed = False
        results: list[Any] = []
        for o in ops:
            kind, key = o[0], o[1]
            if kind == "get":
                rec = self.data.get(key)
                results.append(to_kv(key, rec) if rec else None)
            elif kind == "put":
                results.append(to_kv(key, self._set(key, o[2], o[3], rev)))
                changed = True
            elif kind == "del":
                if key in self.data:
                    results.append(to_kv(key, self._remove(key, rev)))
                    changed = True
                else:
                    results.append(None)
            else:
                keys = self._prefix_keys(key)
                for k in keys:
                    self._remove(k, rev)
                changed = changed or bool(keys)
                results.append(len(keys))
        if changed:
            self.revision = rev
        return TxnResult(ok, self.revision, results)

    def _op_lgrant(self, cmd: dict) -> int:
        lease_id = cmd["id"] or self.next_lease_id
        if lease_id in self.leases:
            raise InvalidArgument(f"lease {lease_id} already exists")
        self.leases[lease_id] = Lease(lease_id, cmd["ttl"], set())
        self.next_lease_id = max(self.next_lease_id, lease_id + 1)
        return lease_id

    def _op_lkeep(self, cmd: dict) -> float:
        ls = self.leases.get(cmd["id"])
        if ls is None:
            raise LeaseNotFound(cmd["id"])
        return ls.ttl

    def _op_lrevoke(self, cmd: dict) -> int:
        ls = self.leases.pop(cmd["id"], None)
        if ls is None:
            raise LeaseNotFound(cmd["id"])
        keys = sorted(k for k in ls.keys if k in self.data)
        if keys:
            self.revision += 1
            for k in keys:
                self._remove(k, self.revision)
        return len(keys)

    _op_lexpire = _op_lrevoke

    def _op_compact(self, cmd: dict) -> int:
        rev = cmd["rev"]
        if rev > self.revision:
            raise InvalidArgument(f"cannot compact to revision {rev}: "
                                  f"current revision is {self.revision}")
        if rev <= self.compact_revision:
            raise Compacted(self.compact_revision)
        self._drop_history_through(rev)
        self.compact_revision = rev
        return rev

    # ---- history compaction ----

    def _drop_history_through(self, rev: int) -> None:
        h = self.history
        while h and h[0].revision <= rev:
            e = h.popleft()
            self.history_bytes -= len(e.key) + len(e.rec.raw)

    def _compact_by_limits(self) -> None:
        _, max_events, max_age = self.limits
        h = self.history
        cutoff = self._ts - max_age
        last = 0
        while h and (len(h) > max_events or h[0].ts < cutoff):
            last = h[0].revision
            self._drop_history_through(last)  # whole revisions only
        if last:
            self.compact_revision = max(self.compact_revision, last)

    def _compact_for_space(self) -> None:
        quota = self.limits[0]
        if self.db_size > quota * COMPACT_AT:
            h, last = self.history, 0
            while h and self.db_size > quota * COMPACT_TO:
                last = h[0].revision
                self._drop_history_through(last)  # whole revisions only
            if last:
                self.compact_revision = max(self.compact_revision, last)
        if self.nospace and self.live_bytes <= quota * ALARM_CLEAR:
            self.nospace = False

    # ---- snapshots ----

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_events"] = []
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("nospace", False)  # snapshots from before the alarm
        # snapshots taken before lease key sets were changed in place hold frozensets
        self.leases = {i: ls._replace(keys=set(ls.keys)) for i, ls in self.leases.items()}
