"""The ``kubernetes`` Service in ``default``: how pods reach the API (port
443, ``KUBERNETES_SERVICE_HOST``/``_PORT`` for in-cluster clients). It has no
selector; each master adds its own API address to the Endpoints at start, as
Kubernetes' endpoint reconciler does. Masters may listen on different ports
(the local cluster's do), so each address is its own subset and the Service
targets the port by name. Its cluster IP is the service CIDR's first host,
as in Kubernetes (coxapi.apiservice).

Each master also records its Raft address and API address in the Endpoints'
``coxswain.io/masters`` annotation (loopback addresses too: they serve clients
on the same machine), and the leader drops the subset and the entry of every
master that left the Raft membership (``follow_membership``), so clients that
refresh their master list from it (coxapi/discovery.py) follow the membership."""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from coxapi import errors
from coxapi.apiservice import NAME, NAMESPACE, cluster_ip
from coxapi.discovery import MASTERS_ANNOTATION, recorded_masters

from ..objects import ObjectStore

log = logging.getLogger(__name__)
Obj = dict[str, Any]
PORT_NAME = "https"


def service(ip: str = "") -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE,
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "ports": [
                {"name": PORT_NAME, "port": 443, "targetPort": PORT_NAME, "protocol": "TCP"}]}}


def _subset(ip: str, port: int) -> Obj:
    return {"addresses": [{"ip": ip}], "ports": [{"name": PORT_NAME, "port": port,
                                                  "protocol": "TCP"}]}


def with_address(endpoints: Obj, ip: str, port: int) -> Obj | None:
    """``endpoints`` with this master's subset added, or None if it is there."""
    subset = _subset(ip, port)
    subsets = list(endpoints.get("subsets") or [])
    if subset in subsets:
        return None
    endpoints["subsets"] = [*subsets, subset]
    return endpoints


def with_master(endpoints: Obj, raft_addr: str, api: str) -> Obj | None:
    """``endpoints`` recording that the master at ``raft_addr`` serves ``api``,
    or None if it does."""
    masters = recorded_masters(endpoints)
    if masters.get(raft_addr) == api:
        return None
    _set_masters(endpoints, {**masters, raft_addr: api})
    return endpoints


def _set_masters(endpoints: Obj, masters: dict[str, str]) -> None:
    meta = endpoints.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           MASTERS_ANNOTATION: json.dumps(masters, sort_keys=True)}


def without_departed(endpoints: Obj, members: set[str]) -> Obj | None:
    """``endpoints`` without the masters whose Raft address is not in ``members``
    (their annotation entry and their subset), or None if all are members."""
    masters = recorded_masters(endpoints)
    gone = {raft: api for raft, api in masters.items() if raft not in members}
    if not gone:
        return None
    _set_masters(endpoints, {raft: api for raft, api in masters.items() if raft in members})
    dropped = [_subset(*_split(api)) for api in gone.values()]
    endpoints["subsets"] = [s for s in endpoints.get("subsets") or [] if s not in dropped]
    return endpoints


def _split(api: str) -> tuple[str, int]:
    host, _, port = api.rpartition(":")
    return host.strip("[]"), int(port)


def _endpoints(subsets: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": NAME, "namespace": NAMESPACE}, "subsets": subsets}


def _record(ep: Obj, ip: str | None, port: int, raft_addr: str, api: str | None) -> Obj | None:
    changed = with_address(ep, ip, port) if ip else None
    if raft_addr and api:
        changed = with_master(ep, raft_addr, api) or changed
    return changed


def _unspecified(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a name


def advertised(host: str) -> str | None:
    """The address pods can use for this master, or None (a wildcard or loopback)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if ip.is_unspecified or ip.is_loopback else str(ip)


def ensure_kubernetes_service(objects: ObjectStore, host: str, port: int,
                              stop: threading.Event | None = None,
                              retry_interval: float = 1.0, service_cidr: str = "",
                              raft_addr: str = "") -> None:
    ip = advertised(host)
    api = None if _unspecified(host) else f"{host}:{port}"
    while True:
        try:
            try:
                objects.create(service(cluster_ip(service_cidr) if service_cidr else ""))
            except errors.AlreadyExists:
                pass
            if ip is None and not (raft_addr and api):
                return
            try:
                objects.create(_record(_endpoints([]), ip, port, raft_addr, api) or {})
            except errors.AlreadyExists:
                objects.guaranteed_update("Endpoints", NAMESPACE, NAME,
                                          lambda ep: _record(ep, ip, port, raft_addr, api))
            log.info("the kubernetes endpoints list this master at %s:%d", host, port)
            return
        except errors.ApiError as e:
            log.info("cannot write the kubernetes service yet: %s", e)
            if stop is None:
                raise
            if stop.wait(retry_interval):
                return


def follow_membership(objects: ObjectStore, members: Callable[[], set[str] | None],
                      stop: threading.Event, interval: float = 2.0) -> None:
    """Keep the Endpoints to the Raft members: every ``interval`` seconds,
    ``members()`` (None unless this master is the leader and knows them) and
    drop the masters that left."""
    while not stop.wait(interval):
        try:
            current = members()
            if not current:
                continue
            ep = objects.get("Endpoints", NAMESPACE, NAME, linearizable=False)
            if without_departed(ep, current) is not None:
                objects.guaranteed_update("Endpoints", NAMESPACE, NAME,
                                          functools.partial(without_departed, members=current))
                log.info("the kubernetes endpoints follow the Raft members: %s",
                         ", ".join(sorted(current)))
        except Exception as e:  # noqa: BLE001 - a store mid-election or closing: next round
            log.debug("cannot prune the kubernetes endpoints: %s", e)
