"""Unique allocation of values (service IPs, node ports, pod CIDRs) that is
safe under concurrency: each claimed value is a key in the store, created
with create-if-absent (``expect_mod_revision=0``). Two workers, or a
deposed and a new leader, racing for one value cannot both win: the store
decides. The local map of claims is only a cache to skip known-used values.

Key layout: ``/registry/ranges/<range name>/<value>`` →
``{"owner": {"kind","namespace","name","uid"}, "claimedAt": <epoch s>}``.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from raftstore import Store
from raftstore.errors import CompareFailed, KeyNotFound

Obj = dict[str, Any]
PREFIX = "/registry/ranges/"


class Allocator:
    def __init__(self, store: Store, name: str, candidates: Callable[[], Iterator[str]],
                 size: int, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.prefix = f"{PREFIX}{name}/"
        self._candidates = candidates
        self.size = size
        self.clock = clock
        self._lock = threading.Lock()
        self._owners: dict[str, str] | None = None  # value -> owner uid (cache)

    def _key(self, value: str) -> str:
        return self.prefix + value.replace("/", "_")

    def _value(self, key: str) -> str:
        return key[len(self.prefix):].replace("_", "/")

    def claims(self) -> dict[str, Obj]:
        """Every claim in the store: value -> claim record (paged range)."""
        out: dict[str, Obj] = {}
        start = None
        while True:
            res = self.store.range(self.prefix, limit=1000, start_after=start)
            for kv in res.kvs:
                out[self._value(kv.key)] = kv.value
            if not res.more or not res.kvs:
                return out
            start = res.kvs[-1].key

    def refresh(self) -> dict[str, str]:
        owners = {v: (c.get("owner") or {}).get("uid", "") for v, c in self.claims().items()}
        with self._lock:
            self._owners = owners
        return owners

    def _cache(self) -> dict[str, str]:
        with self._lock:
            owners = self._owners
        return owners if owners is not None else self.refresh()

    def claim(self, value: str, owner: Obj) -> bool:
        """Claim ``value`` for ``owner`` (a dict with ``uid``). True if it is
        now ours (newly, or already); False if someone else holds it."""
        uid = owner.get("uid", "")
        with self._lock:
            if self._owners is not None and uid and self._owners.get(value) == uid:
                return True
        record = {"owner": owner, "claimedAt": self.clock()}
        try:
            self.store.put(self._key(value), record, expect_mod_revision=0)
        except CompareFailed as e:
            held = ((e.current.value if e.current else {}).get("owner") or {}).get("uid", "")
            with self._lock:
                if self._owners is not None:
                    self._owners[value] = held
            return held == uid
        with self._lock:
            if self._owners is not None:
                self._owners[value] = uid
        return True

    def allocate(self, owner: Obj, exclude: set[str] | frozenset[str] = frozenset()
                 ) -> str | None:
        """Claim the first free value for ``owner`` (reusing one it already
        holds and has not put to use, unless in ``exclude``); None when the
        range is full."""
        owners = self._cache()
        for value in self._candidates():
            if value in exclude:
                continue
            if value in owners:
                if owners[value] == owner.get("uid"):
                    return value
                continue
            if self.claim(value, owner):
                return value
        return None

    def release(self, value: str, uid: str | None) -> bool:
        """Free ``value`` if ``uid`` holds it (compare-and-swap on the claim);
        ``uid`` None frees a claim that names no owner uid."""
        kv = self.store.get(self._key(value))
        if kv is None or (kv.value.get("owner") or {}).get("uid") != uid:
            return False
        try:
            self.store.delete(self._key(value), expect_mod_revision=kv.mod_revision)
        except (CompareFailed, KeyNotFound):
            return False
        with self._lock:
            if self._owners is not None:
                self._owners.pop(value, None)
        return True

    def release_all(self, uid: str) -> None:
        """Free every value ``uid`` holds (its owner was deleted)."""
        for value in self.held_by(uid, fresh=True):
            self.release(value, uid)

    def release_orphans(self, live: set[str], older_than: float) -> None:
        """Repair missed deletes: free claims older than ``older_than``
        seconds whose owner's uid is not in ``live``."""
        now = self.clock()
        for value, claim in self.claims().items():
            uid = (claim.get("owner") or {}).get("uid")
            if uid not in live and now - float(claim.get("claimedAt") or 0) > older_than:
                self.release(value, uid)

    def claimed_at(self, value: str) -> float:
        """When ``value`` was claimed (epoch seconds); +inf if it is not."""
        kv = self.store.get(self._key(value))
        if kv is None:
            return float("inf")
        try:
            return float(kv.value.get("claimedAt") or 0)
        except (TypeError, ValueError):
            return 0.0

    def held_by(self, uid: str, fresh: bool = False) -> list[str]:
        """Values claimed by ``uid``: from the cache, or (``fresh``) the store."""
        owners = self.refresh() if fresh else self._cache()
        return [v for v, u in owners.items() if u == uid]


def ip_candidates(cidr: str, reserved: int = 1) -> tuple[Callable[[], Iterator[str]], int]:
    """Host addresses of ``cidr`` in order, skipping the network address, the
    broadcast address and the first ``reserved`` hosts (``.1``: the
    ``kubernetes`` service's, as in Kubernetes)."""
    net = ipaddress.ip_network(cidr, strict=False)
    first = int(net.network_address) + 1 + reserved
    last = int(net.broadcast_address) - 1

    def gen() -> Iterator[str]:
        for n in range(first, last + 1):
            yield str(ipaddress.ip_address(n))
    return gen, max(0, last - first + 1)


def port_candidates(lo: int, hi: int) -> tuple[Callable[[], Iterator[str]], int]:
    def gen() -> Iterator[str]:
        for p in range(lo, hi + 1):
            yield str(p)
    return gen, hi - lo + 1


def subnet_candidates(cidr: str, mask: int) -> tuple[Callable[[], Iterator[str]], int]:
    net = ipaddress.ip_network(cidr, strict=False)
    if mask < net.prefixlen:
        raise ValueError(f"node CIDR mask /{mask} is larger than the cluster CIDR {cidr}")

    def gen() -> Iterator[str]:
        for sub in net.subnets(new_prefix=mask):
            yield str(sub)
    return gen, 2 ** (mask - net.prefixlen)


def in_ip_range(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def owner_of(obj: Obj) -> Obj:
    meta = obj.get("metadata") or {}
    out = {"kind": obj.get("kind", ""), "name": meta.get("name", ""), "uid": meta.get("uid", "")}
    if meta.get("namespace"):
        out["namespace"] = meta["namespace"]
    return out
