"""The ``kubernetes`` Service in ``default``, how pods reach the API: its
address (the service CIDR's first host, which the allocator keeps free, as in
Kubernetes) and the names in-cluster clients use, which the masters' serving
certificates must cover. Pure."""

from __future__ import annotations

import ipaddress

NAME, NAMESPACE = "kubernetes", "default"


def cluster_ip(service_cidr: str) -> str:
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 1)


def hosts(service_cidr: str, domain: str = "cluster.local") -> list[str]:
    """Its cluster IP and DNS names (``kubernetes.default.svc`` and the rest)."""
    return [cluster_ip(service_cidr), NAME, f"{NAME}.{NAMESPACE}", f"{NAME}.{NAMESPACE}.svc",
            f"{NAME}.{NAMESPACE}.svc.{domain}"]
