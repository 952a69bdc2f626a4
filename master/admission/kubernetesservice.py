"""The ``kubernetes`` Service in ``default``: how pods reach the API (port
443, ``KUBERNETES_SERVICE_HOST``/``_PORT`` for in-cluster clients). It has no
selector; each master adds its own API address to the Endpoints at start, as
Kubernetes' endpoint reconciler does. Masters may listen on different ports
(the local cluster's do), so each address is its own subset and the Service
targets the port by name. Its cluster IP is the service CIDR's first host,
as in Kubernetes (coxapi.apiservice)."""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from coxapi import errors
from coxapi.apiservice import NAME, NAMESPACE, cluster_ip

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


def advertised(host: str) -> str | None:
    """The address pods can use for this master, or None (a wildcard or loopback)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return None if ip.is_unspecified or ip.is_loopback else str(ip)


def ensure_kubernetes_service(objects: ObjectStore, host: str, port: int,
                              stop: threading.Event | None = None,
                              retry_interval: float = 1.0, service_cidr: str = "") -> None:
    ip = advertised(host)
    while True:
        try:
            try:
                objects.create(service(cluster_ip(service_cidr) if service_cidr else ""))
            except errors.AlreadyExists:
                pass
            if ip is None:
                return
            try:
                objects.create({"apiVersion": "v1", "kind": "Endpoints",
                                "metadata": {"name": NAME, "namespace": NAMESPACE},
                                "subsets": [_subset(ip, port)]})
            except errors.AlreadyExists:
                objects.guaranteed_update("Endpoints", NAMESPACE, NAME,
                                          lambda ep: with_address(ep, ip, port))
            log.info("the kubernetes service lists this master at %s:%d", ip, port)
            return
        except errors.ApiError as e:
            log.info("cannot write the kubernetes service yet: %s", e)
            if stop is None:
                raise
            if stop.wait(retry_interval):
                return
