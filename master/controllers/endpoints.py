"""Endpoints controller: for every Service with a selector, an Endpoints
object of the same name listing the matching pods' addresses — ready pods
in ``addresses``, the others in ``notReadyAddresses`` — with each port
resolved from the Service's ``targetPort`` (a number, or the name of a
container port, which may differ per pod: pods are grouped into subsets
by their resolved ports). A terminating pod is dropped at once, so a
proxy stops sending it traffic before it stops. Services without a
selector keep hand-written Endpoints. Pods on a node that went silent
(tainted unreachable) move to ``notReadyAddresses`` until it is back.
A pod whose ``spec.subdomain`` names the Service carries its
``spec.hostname`` in its address, from which the cluster DNS serves
``HOSTNAME.SERVICE.NS.svc.cluster.local`` (a StatefulSet's stable names).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from coxapi import errors, labels
from coxapi.meta import is_terminating, key_of

from . import pods as podutil
from .base import Context, Controller
from .nodelifecycle import UNREACHABLE

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def resolve_port(svc_port: Obj, pod: Obj) -> int | None:
    target = svc_port.get("targetPort", svc_port.get("port"))
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target and \
                    (p.get("protocol") or "TCP") == (svc_port.get("protocol") or "TCP"):
                return int(p.get("containerPort"))
    return None


def node_unreachable(node: Obj | None) -> bool:
    """The node lifecycle controller judged the node gone silent."""
    if node is None:
        return False
    taints = (node.get("spec") or {}).get("taints") or []
    return any(t.get("key") == UNREACHABLE for t in taints)


def address_hostname(svc: Obj, pod: Obj) -> str | None:
    """The pod's ``hostname`` when its ``subdomain`` is this Service (the
    endpoints controller's rule: same name, same namespace)."""
    spec = pod.get("spec") or {}
    same_ns = (pod["metadata"].get("namespace") or "default") == \
        (svc["metadata"].get("namespace") or "default")
    if spec.get("hostname") and spec.get("subdomain") == svc["metadata"]["name"] and same_ns:
        return str(spec["hostname"])
    return None


def desired_subsets(svc: Obj, pods: list[Obj],
                    unreachable: Callable[[str], bool] = lambda name: False) -> list[Obj]:
    """Pure: the ``subsets`` for ``svc`` given the candidate pods. Pods on
    an unreachable node are listed as not ready (Kubernetes marks them
    NotReady for the same reason): no new traffic goes to a dead node."""
    spec = svc.get("spec") or {}
    selector = labels.from_map(spec.get("selector"))
    publish_not_ready = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, dict[str, list[Obj]]] = {}
    for pod in pods:
        status = pod.get("status") or {}
        ip = status.get("podIP")
        if not ip or not labels.matches(selector, pod["metadata"].get("labels")):
            continue
        if is_terminating(pod) or status.get("phase") in ("Succeeded", "Failed"):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            n = resolve_port(sp, pod)
            if n is None:
                continue
            port = {"port": n, "protocol": sp.get("protocol") or "TCP"}
            if sp.get("name"):
                port["name"] = sp["name"]
            ports.append(port)
        if spec.get("ports") and not ports:
            continue
        addr = {"ip": ip, "targetRef": {"kind": "Pod", "namespace": pod["metadata"].get(
            "namespace"), "name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid")}}
        if (pod.get("spec") or {}).get("nodeName"):
            addr["nodeName"] = pod["spec"]["nodeName"]
        hostname = address_hostname(svc, pod)
        if hostname:
            addr["hostname"] = hostname
        key = tuple(sorted((p.get("name", ""), p["port"], p["protocol"]) for p in ports))
        group = groups.setdefault(key, {"ports": ports, "addresses": [], "notReadyAddresses": []})
        node_name = (pod.get("spec") or {}).get("nodeName") or ""
        ready = (podutil.is_ready(pod) and not unreachable(node_name)) or publish_not_ready
        group["addresses" if ready else "notReadyAddresses"].append(addr)
    subsets = []
    for key in sorted(groups):
        g = groups[key]
        subset: Obj = {}
        for field in ("addresses", "notReadyAddresses"):
            if g[field]:
                subset[field] = sorted(g[field], key=lambda a: (a["ip"], a["targetRef"]["name"]))
        if g["ports"]:
            subset["ports"] = sorted(g["ports"], key=lambda p: (p.get("name", ""), p["port"]))
        subsets.append(subset)
    return subsets


class EndpointsController(Controller):
    name = "endpoint-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.services = ctx.informers["Service"]
        self.pods = ctx.informers["Pod"]
        self.endpoints = ctx.informers["Endpoints"]
        self.services.add_handler(**self.handlers())
        self.pods.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new, old),
                              self._pod_changed)
        self.endpoints.add_handler(on_delete=self._endpoints_deleted)
        self.nodes = ctx.informers["Node"]
        self.nodes.add_handler(on_update=self._node_changed)

    def _node_changed(self, old: Obj, new: Obj) -> None:
        if node_unreachable(old) != node_unreachable(new):
            for svc in self.services.list():
                self.enqueue(svc)

    def _pod_changed(self, pod: Obj, old: Obj | None = None) -> None:
        ns = pod["metadata"].get("namespace")
        for svc in self.services.list(ns):
            sel = (svc.get("spec") or {}).get("selector")
            if not sel:
                continue
            s = labels.from_map(sel)
            if labels.matches(s, pod["metadata"].get("labels")) or (
                    old is not None and labels.matches(s, old["metadata"].get("labels"))):
                self.enqueue(svc)

    def _endpoints_deleted(self, ep: Obj) -> None:
        if self.services.get(key_of(ep)) is not None:
            self.queue.add(key_of(ep))

    def reconcile(self, key: str) -> float | None:
        ns, _, name = key.partition("/")
        svc = self.services.get(key)
        if svc is None:
            try:
                self.objects.delete("Endpoints", ns, name)
            except errors.NotFound:
                pass
            return None
        if not (svc.get("spec") or {}).get("selector"):
            return None
        subsets = desired_subsets(svc, self.pods.list(ns),
                                  lambda n: node_unreachable(self.nodes.get(n)))
        current = self.endpoints.get(key)
        svc_labels = dict(svc["metadata"].get("labels") or {})
        if current is not None and current.get("subsets", []) == subsets and \
                (current["metadata"].get("labels") or {}) == svc_labels:
            return None
        if current is None:
            ep = {"apiVersion": "v1", "kind": "Endpoints",
                  "metadata": {"name": name, "namespace": ns, "labels": svc_labels},
                  "subsets": subsets}
            try:
                self.objects.create(ep)
                return None
            except errors.AlreadyExists:
                pass  # our cache is behind; update the stored one

        def write(cur: Obj) -> Obj | None:
            if cur.get("subsets", []) == subsets and \
                    (cur["metadata"].get("labels") or {}) == svc_labels:
                return None
            cur["subsets"] = subsets
            cur["metadata"]["labels"] = svc_labels
            return cur
        self.objects.guaranteed_update("Endpoints", ns, name, write)
        return None
