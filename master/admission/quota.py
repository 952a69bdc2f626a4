"""ResourceQuota admission: a create is charged to the quotas of its namespace.

As Kubernetes' quota admission: the new usage is written to each quota's
``status.used`` with a compare-and-swap on the quota, so two creates racing
for the last slot cannot both pass. Here the charge and the create are one
store transaction (the quotas unchanged since read, the object absent): both
happen or neither, so a failed create never leaves a charge behind. A quota
that moved since it was read is read again (the latest) and charged again.

Usage only grows here; the quota controller recounts it (objects deleted,
pods finished) and fills ``status.used`` of a new quota, before which a create
it limits is refused ("status unknown"), as in Kubernetes.
"""

from __future__ import annotations

from typing import Any

from coxapi import errors, kinds, quotas
from raftstore import Store
from raftstore import errors as store_errors
from raftstore.types import Compare, KeyValue, Op

Obj = dict[str, Any]
QUOTA = kinds.lookup("ResourceQuota")
ATTEMPTS = 10  # quotas that move this often are contended by creates in flight


def _forbidden(kind: kinds.Kind, name: str, why: str) -> errors.Forbidden:
    return errors.Forbidden(f'{kind.plural} "{name}" is forbidden: {why}',
                            {"name": name, "kind": kind.plural})


def _text(amounts: dict[str, int], resources: list[str]) -> str:
    return ",".join(f"{r}={quotas.format_amount(r, amounts.get(r, 0))}" for r in resources)


def charges(kind: kinds.Kind, obj: Obj, quota_kvs: list[KeyValue]) -> list[tuple[KeyValue, Obj]]:
    """The quotas ``obj`` is charged to, each with its new value; ``Forbidden``
    past any of them. Pure."""
    name = str((obj.get("metadata") or {}).get("name", ""))
    out = []
    for kv in quota_kvs:
        quota = kv.value
        qname = quota["metadata"]["name"]
        hard = quotas.hard_of(quota)
        if quotas.counts(kind, obj):
            missing = quotas.unspecified(kind, obj, hard)
            if missing:
                raise _forbidden(kind, name, f"failed quota: {qname}: must specify "
                                             f"{'; '.join(missing)}")
        requested = quotas.usage(kind, obj, hard)
        if not requested:
            continue
        used = quotas.used_of(quota)
        unknown = sorted(r for r in requested if r not in used)
        if unknown:
            raise _forbidden(kind, name, f"status unknown for quota: {qname}, resources: "
                                         f"{','.join(unknown)}")
        exceeded = sorted(r for r, n in requested.items() if used[r] + n > hard[r])
        if exceeded:
            raise _forbidden(kind, name, f"exceeded quota: {qname}, requested: "
                                         f"{_text(requested, exceeded)}, used: "
                                         f"{_text(used, exceeded)}, limited: "
                                         f"{_text(hard, exceeded)}")
        new_used = {**used, **{r: used[r] + n for r, n in requested.items()}}
        status = {**(quota.get("status") or {}), "used": quotas.formatted(new_used)}
        out.append((kv, {**quota, "status": status}))
    return out


def charged(store: Store, kind: kinds.Kind, value: Obj) -> bool:
    """Whether a quota of the namespace, as this replica has them, charges
    ``value``'s creation (``create_charged`` would write a transaction)."""
    namespace = (value.get("metadata") or {}).get("namespace")
    found = store.range(QUOTA.storage_prefix(namespace), linearizable=False).kvs
    return bool(found) and bool(charges(kind, value, found))


def create_charged(store: Store, kind: kinds.Kind, key: str, value: Obj,
                   lease: int = 0) -> KeyValue | None:
    """Create ``value`` at ``key`` charged to its namespace's quotas; None when
    no quota limits it (the caller creates it plainly). ``CompareFailed`` when
    the key exists, ``Forbidden`` past a quota."""
    namespace = (value.get("metadata") or {}).get("namespace")
    latest = False  # the quotas as this replica has them first, as Kubernetes' lister
    for _ in range(ATTEMPTS):
        found = store.range(QUOTA.storage_prefix(namespace), linearizable=latest).kvs
        charged = charges(kind, value, found) if found else []
        if not charged:
            return None
        compares = [Compare(key, "mod_revision", "==", 0)] + [
            Compare(kv.key, "mod_revision", "==", kv.mod_revision) for kv, _ in charged]
        result = store.txn(compares,
                           [*(Op.put(kv.key, new) for kv, new in charged),
                            Op.put(key, value, lease)],
                           [Op.get(key)])
        if result.succeeded:
            return result.results[-1]
        if result.results[0] is not None:
            raise store_errors.CompareFailed(key, result.results[0])
        latest = True  # a quota moved since it was read
    raise errors.Conflict(f"the quotas of namespace {namespace} changed while charging "
                          f"{kind.plural}; try again")
