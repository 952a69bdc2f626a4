"""The default RBAC objects, created at bootstrap like Kubernetes' (only when
missing: an admin's edits are kept): ``cluster-admin`` (bound to
``system:masters``), the user-facing ``admin``, ``edit`` and ``view``, and
``system:basic-user`` and ``system:discovery`` (bound to every authenticated
user: self reviews, discovery and health) and ``system:monitoring`` (the
metrics token's ``/metrics``). Nodes and the controllers need
none: the node authorizer decides for nodes, the controllers write directly."""

from __future__ import annotations

import logging
import threading
from typing import Any

from coxapi import errors
from coxapi.rbac import AUTHENTICATED, GROUP

from ..auth import MASTERS_GROUP, MONITORING_GROUP
from ..objects import ObjectStore

log = logging.getLogger(__name__)
Obj = dict[str, Any]

READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
_WORKLOADS = ["pods", "pods/log", "pods/status", "services", "endpoints", "configmaps",
              "serviceaccounts", "events", "persistentvolumeclaims",
              "persistentvolumeclaims/status"]
_APPS = ["deployments", "deployments/scale", "deployments/status", "replicasets",
         "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale",
         "statefulsets/status", "daemonsets", "daemonsets/status"]
# group -> its namespaced resources the user-facing roles cover, as Kubernetes' do
_MORE = {"batch": ["jobs", "jobs/status", "cronjobs", "cronjobs/status"],
         "autoscaling": ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]}
_METRICS = ("metrics.k8s.io", ["pods", "nodes"])  # system:aggregated-metrics-reader


def _rule(verbs: list[str], groups: list[str], resources: list[str], **extra: Any) -> Obj:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources, **extra}


def _writable(resources: list[str]) -> list[str]:
    return [r for r in resources if not r.endswith("/status")]


def _view_rules() -> list[Obj]:
    return [_rule(READ, [""], [*_WORKLOADS, "namespaces", "resourcequotas",
                               "resourcequotas/status"]),
            _rule(READ, ["apps"], _APPS),
            *(_rule(READ, [group], resources) for group, resources in _MORE.items()),
            _rule(READ, [_METRICS[0]], _METRICS[1]),
            _rule(READ, ["coordination.k8s.io"], ["leases"])]


def _edit_rules() -> list[Obj]:
    return [*_view_rules(),
            _rule(READ + WRITE, [""], _writable(_WORKLOADS) + ["secrets"]),
            _rule(["create"], [""], ["pods/eviction"]),
            _rule(READ + WRITE, ["apps"], _writable(_APPS)),
            *(_rule(READ + WRITE, [group], _writable(resources))
              for group, resources in _MORE.items()),
            _rule(READ + WRITE, ["coordination.k8s.io"], ["leases"]),
            _rule(["create", "get"], [""], ["pods/exec", "pods/attach", "pods/portforward"])]


def _admin_rules() -> list[Obj]:
    return [*_edit_rules(),
            _rule(READ + WRITE, [GROUP], ["roles", "rolebindings"]),
            _rule(["escalate"], [GROUP], ["roles"]),
            _rule(["bind"], [GROUP], ["roles"]),
            _rule(["bind"], [GROUP], ["clusterroles"], resourceNames=["admin", "edit", "view"])]


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "rules": rules}


def _binding(name: str, role: str, group: str) -> Obj:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": group}]}


DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz",
                  "/version", "/version/", "/openapi", "/openapi/*", "/openid/v1/jwks",
                  "/.well-known/openid-configuration"]
# Kubernetes' system:monitoring: scrapers (the token `cox master init` writes to
# metrics.token) read metrics and health, nothing else
MONITORING_URLS = ["/metrics", "/livez", "/readyz", "/healthz"]


def default_objects() -> list[Obj]:
    return [
        _cluster_role("cluster-admin", [_rule(["*"], ["*"], ["*"]),
                                        {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        _cluster_role("admin", _admin_rules()),
        _cluster_role("edit", _edit_rules()),
        _cluster_role("view", _view_rules()),
        _cluster_role("system:basic-user", [
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        _cluster_role("system:discovery", [{"verbs": ["get"], "nonResourceURLs": DISCOVERY_URLS}]),
        _cluster_role("system:monitoring", [{"verbs": ["get"], "nonResourceURLs": MONITORING_URLS}]),
        _binding("cluster-admin", "cluster-admin", MASTERS_GROUP),
        _binding("system:basic-user", "system:basic-user", AUTHENTICATED),
        _binding("system:discovery", "system:discovery", AUTHENTICATED),
        _binding("system:monitoring", "system:monitoring", MONITORING_GROUP),
    ]


def ensure_default_rbac(objects: ObjectStore, stop: threading.Event | None = None,
                        retry_interval: float = 1.0) -> None:
    """Create what is missing; safe on every master at once (AlreadyExists is success)."""
    pending = default_objects()
    while pending:
        obj = pending[0]
        try:
            objects.create(obj)
            log.info("created %s %s", obj["kind"], obj["metadata"]["name"])
        except errors.AlreadyExists:
            pass
        except errors.ApiError as e:
            log.info("cannot create %s %s yet: %s", obj["kind"], obj["metadata"]["name"], e)
            if stop is None:
                raise
            if stop.wait(retry_interval):
                return
            continue
        pending.pop(0)
