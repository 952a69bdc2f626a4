"""The resource Metrics API, ``metrics.k8s.io/v1beta1``: NodeMetrics and PodMetrics,
read-only, as metrics-server serves them (so ``kubectl top`` works).

No scraping and no store of its own: each answer is made from the usage
reports the node agents put on their Leases (coxapi.usagereport), read from
this master's replica (no read barrier: usage a few seconds old is what this
API promises anyway). A report older than ``usagereport.STALE_AFTER`` is left
out, as metrics-server drops nodes it could not scrape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, g, request

from coxapi import errors, labels, rbac
from coxapi.kinds.lease import NODE_LEASE_NAMESPACE
from coxapi.rbac import Attributes
from coxapi.usagereport import GROUP_VERSION, UsageReport, fresh_reports, node_metrics, pod_metrics

from ..auth import MASTERS_GROUP, NODES_GROUP
from .responses import json_response
from .reviews import non_resource_decision
from .state import state

Obj = dict[str, Any]
BLUEPRINT = "metrics_api"
GROUP = GROUP_VERSION.split("/")[0]


def resource_list() -> Obj:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
            "resources": [
                {"name": "nodes", "singularName": "", "namespaced": False,
                 "kind": "NodeMetrics", "verbs": ["get", "list"]},
                {"name": "pods", "singularName": "", "namespaced": True,
                 "kind": "PodMetrics", "verbs": ["get", "list"]}]}


def node_metrics_list(nodes: list[Obj], reports: dict[str, UsageReport]) -> list[Obj]:
    return [node_metrics(n, reports[n["metadata"]["name"]]) for n in nodes
            if n["metadata"]["name"] in reports]


def pod_metrics_list(pods: list[Obj], reports: dict[str, UsageReport]) -> list[Obj]:
    out = []
    for p in pods:
        report = reports.get((p.get("spec") or {}).get("nodeName") or "")
        m = pod_metrics(p, report) if report is not None else None
        if m is not None:
            out.append(m)
    return out


def _as_list(kind: str, items: list[Obj]) -> Response:
    return json_response({"kind": f"{kind}List", "apiVersion": GROUP_VERSION,
                          "metadata": {}, "items": items})


def attributes(view_args: dict[str, str], resource: str | None) -> Attributes:
    """The RBAC attributes of a read of NodeMetrics or PodMetrics (``resource``
    None: this group-version's discovery, a non-resource URL)."""
    if resource is None:
        return Attributes(verb="get", path=f"/apis/{GROUP_VERSION}")
    name = view_args.get("name", "")
    return Attributes(verb="get" if name else "list", resource=resource, api_group=GROUP,
                      name=name, namespace=view_args.get("namespace", ""))


def create_blueprint(clock: Callable[[], float] = time.time) -> Blueprint:
    bp = Blueprint(BLUEPRINT, __name__, url_prefix=f"/apis/{GROUP_VERSION}")

    @bp.before_request
    def authorize() -> None:
        """Masters may read usage; others as RBAC says (``view`` and up, as with
        Kubernetes' aggregated metrics reader); nodes have no use for it."""
        user = g.user
        if MASTERS_GROUP in user.groups:
            return
        endpoint = (request.endpoint or "").rpartition(".")[2]
        resource = {"list_nodes": "nodes", "get_node": "nodes",
                    "list_pods": "pods", "get_pod": "pods"}.get(endpoint)
        a = attributes(request.view_args or {}, resource)
        if resource is None:
            reason = non_resource_decision(state().rbac, user, a.verb, a.path)
        elif NODES_GROUP in user.groups:
            reason = "nodes are decided by the node authorizer"
        else:
            reason = state().rbac.decide(user, a)
        if reason is not None:
            raise errors.Forbidden(f'forbidden: User "{user.name}" {rbac.describe(a)}: {reason}')

    def reports() -> dict[str, UsageReport]:
        leases = state().objects.list("Lease", NODE_LEASE_NAMESPACE, linearizable=False).items
        return fresh_reports(leases, clock())

    def selector() -> labels.Selector:
        try:
            return labels.parse_selector(request.args.get("labelSelector"))
        except ValueError as e:
            raise errors.BadRequest(f"labelSelector: {e}") from None

    def objects(kind: str, namespace: str | None) -> list[Obj]:
        return state().objects.list(kind, namespace, selector(), linearizable=False).items

    def one(items: list[Obj], what: str, name: str) -> Response:
        if not items:
            raise errors.NotFound(f'{what} "{name}" not found')
        return json_response(items[0])

    @bp.get("")
    @bp.get("/")
    def discovery() -> Response:
        return json_response(resource_list())

    @bp.get("/nodes")
    def list_nodes() -> Response:
        return _as_list("NodeMetrics", node_metrics_list(objects("Node", None), reports()))

    @bp.get("/nodes/<name>")
    def get_node(name: str) -> Response:
        node = state().objects.get("Node", None, name, linearizable=False)
        return one(node_metrics_list([node], reports()), "nodemetrics", name)

    @bp.get("/pods")
    @bp.get("/namespaces/<namespace>/pods")
    def list_pods(namespace: str | None = None) -> Response:
        return _as_list("PodMetrics", pod_metrics_list(objects("Pod", namespace), reports()))

    @bp.get("/namespaces/<namespace>/pods/<name>")
    def get_pod(namespace: str, name: str) -> Response:
        pod = state().objects.get("Pod", namespace, name, linearizable=False)
        return one(pod_metrics_list([pod], reports()), "podmetrics", name)

    return bp
