"""Which masters there are and what their Raft replicas say: each master
renews a Lease ``kube-system/coxswain-master-<name>`` every few seconds with
its API URL and its replica's role, term, commit and applied index. The
Raft view joins those (others' as last published) with this replica's live
status; the page fails over to the URLs listed (static, cross-master)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from coxapi import errors
from coxapi.timefmt import parse_epoch, rfc3339

from ..objects import ObjectStore

log = logging.getLogger(__name__)
Obj = dict[str, Any]
NAMESPACE, PREFIX = "kube-system", "coxswain-master-"
URL_ANNOTATION, RAFT_ANNOTATION = "coxswain.io/api-url", "coxswain.io/raft"
INTERVAL = 5.0
STALE_AFTER = 3 * INTERVAL  # a record not renewed for this long: its master is gone
_RAFT_FIELDS = ("id", "role", "leader", "term", "commit_index", "applied_index")


def api_url(listen: str, tls: bool) -> str:
    """The URL the page uses; a wildcard host means "the host the page came from"."""
    host, _, port = listen.rpartition(":")
    host = "" if host in ("0.0.0.0", "::", "[::]", "") else host
    return f"{'https' if tls else 'http'}://{host}:{port}"


def record(name: str, url: str, status: Obj, now: float) -> Obj:
    raft = {k: status.get(k) for k in _RAFT_FIELDS}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": PREFIX + name, "namespace": NAMESPACE,
                         "annotations": {URL_ANNOTATION: url, RAFT_ANNOTATION: json.dumps(raft)}},
            "spec": {"holderIdentity": name, "leaseDurationSeconds": int(STALE_AFTER),
                     "renewTime": rfc3339(now, micro=True)}}


def publish(objects: ObjectStore, name: str, url: str, status: Obj, now: float) -> None:
    new = record(name, url, status, now)
    try:
        objects.create(new)
    except errors.AlreadyExists:
        def renewed(cur: Obj) -> Obj:
            cur["metadata"].setdefault("annotations", {}).update(new["metadata"]["annotations"])
            cur["spec"] = new["spec"]
            return cur
        objects.guaranteed_update("Lease", NAMESPACE, PREFIX + name, renewed)


def run_presence(objects: ObjectStore, store: Any, name: str, url: str,
                 stop: threading.Event) -> None:
    """Renew this master's record until ``stop``; a store without quorum just
    leaves it to go stale."""
    while not stop.is_set():
        try:
            publish(objects, name, url, store.status(), time.time())
        except Exception as e:  # noqa: BLE001 - retried next round
            log.debug("cannot publish this master's record: %s", e)
        stop.wait(INTERVAL)


def records(objects: ObjectStore) -> list[Obj]:
    return [lease for lease in objects.list("Lease", NAMESPACE, linearizable=False).items
            if lease["metadata"]["name"].startswith(PREFIX)]


def _age(lease: Obj, now: float) -> float | None:
    renewed = parse_epoch((lease.get("spec") or {}).get("renewTime"))
    return None if renewed is None else max(0.0, now - renewed)


def view(self_name: str, self_url: str, local: Obj, leases: list[Obj], now: float) -> Obj:
    """The Raft view: one row per master, this one live, the others as they
    last published, with reachability as this replica sees its peers."""
    connected = {p.get("id"): bool(p.get("connected")) for p in local.get("peers") or []}
    leader = local.get("leader")
    rows: list[Obj] = []
    seen = set()
    for lease in sorted(leases, key=lambda x: x["metadata"]["name"]):
        name = lease["metadata"]["name"][len(PREFIX):]
        ann = lease["metadata"].get("annotations") or {}
        try:
            raft = json.loads(ann.get(RAFT_ANNOTATION) or "{}")
        except ValueError:
            raft = {}
        age = _age(lease, now)
        if name == self_name:
            continue
        seen.add(raft.get("id"))
        reachable = connected.get(raft.get("id"), False) and age is not None \
            and age < STALE_AFTER
        rows.append({"name": name, "url": ann.get(URL_ANNOTATION, ""), "self": False,
                     "reachable": reachable, "age_seconds": age,
                     **{k: raft.get(k) for k in _RAFT_FIELDS},
                     "role": "leader" if leader and raft.get("id") == leader
                     else (raft.get("role") if reachable else "unreachable")})
    rows.append({"name": self_name, "url": self_url, "self": True, "reachable": True,
                 "age_seconds": 0.0, **{k: local.get(k) for k in _RAFT_FIELDS}})
    for peer, up in connected.items():  # a replica that never published (yet)
        if peer not in seen:
            rows.append({"name": "", "url": "", "self": False, "reachable": up, "id": peer,
                         "role": "leader" if peer == leader else ("follower" if up
                                                                  else "unreachable"),
                         "age_seconds": None, "term": None, "leader": leader,
                         "commit_index": None, "applied_index": None})
    return {"leader": leader, "masters": sorted(rows, key=lambda r: (r["name"] or "~", r["id"]
                                                                     or ""))}


def urls(self_url: str, leases: list[Obj], now: float) -> list[str]:
    """Where the page may go when its master is gone: this one first, then the
    others renewed recently."""
    out = [self_url]
    for lease in leases:
        url = (lease["metadata"].get("annotations") or {}).get(URL_ANNOTATION)
        age = _age(lease, now)
        if url and url not in out and age is not None and age < STALE_AFTER:
            out.append(url)
    return out
