"""Defaults applied to API objects on create and update, as Kubernetes does.

The per-kind functions here are called by each kind's strategy
(``coxapi.kinds``). Pure: ``apply_defaults(obj)`` fills missing fields in place and returns the
object. It never overrides a value the client set, and it tolerates malformed
input (validation runs after it and names the bad field).
"""

from __future__ import annotations

from typing import Any

from . import kinds

Obj = dict[str, Any]


def _dict(parent: Obj, key: str) -> Obj:
    """``parent[key]`` as a dict, created if missing; a non-dict stays for validation."""
    value = parent.get(key)
    if value is None:
        value = parent[key] = {}
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image, else ``IfNotPresent``."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10),
                       ("successThreshold", 1), ("failureThreshold", 3)):
        probe.setdefault(key, value)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str):
        c.setdefault("imagePullPolicy", image_pull_policy(c["image"]))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    for port in _list(c.get("ports")):
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))
    res = c.get("resources")
    if isinstance(res, dict):
        # Kubernetes: requests default to limits when only limits are given.
        limits, requests = res.get("limits"), res.get("requests")
        if isinstance(limits, dict) and limits:
            req = requests if isinstance(requests, dict) else {}
            for name, value in limits.items():
                req.setdefault(name, value)
            res["requests"] = req


def pod_spec(spec: Any) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("enableServiceLinks", True)
    for c in _list(spec.get("containers")) + _list(spec.get("initContainers")):
        _container(c)
    for tol in _list(spec.get("tolerations")):
        if isinstance(tol, dict) and "operator" not in tol:
            tol["operator"] = "Equal"


def _pod_template(spec: Obj) -> None:
    tmpl = _dict(spec, "template")
    _dict(tmpl, "metadata")
    pod_spec(_dict(tmpl, "spec"))


def pod(obj: Obj) -> None:
    pod_spec(_dict(obj, "spec"))


def service(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    for port in _list(spec.get("ports")):
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")


def replica_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("minReadySeconds", 0)
    _pod_template(spec)


def deployment(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    spec.setdefault("minReadySeconds", 0)
    strategy = _dict(spec, "strategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
    _pod_template(spec)


def job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _pod_template(spec)


def cron_job(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    tmpl = _dict(spec, "jobTemplate")
    _dict(tmpl, "metadata")
    job(tmpl)


def daemon_set(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("minReadySeconds", 0)
    strategy = _dict(spec, "updateStrategy")
    strategy.setdefault("type", "RollingUpdate")
    if strategy.get("type") == "RollingUpdate":
        ru = _dict(strategy, "rollingUpdate")
        ru.setdefault("maxUnavailable", 1)
        ru.setdefault("maxSurge", 0)
    _pod_template(spec)


def namespace(obj: Obj) -> None:
    spec = _dict(obj, "spec")
    spec.setdefault("finalizers", ["kubernetes"])
    status = _dict(obj, "status")
    status.setdefault("phase", "Active")


def secret(obj: Obj) -> None:
    obj.setdefault("type", "Opaque")


def event(obj: Obj) -> None:
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)


def lease(obj: Obj) -> None:
    _dict(obj, "spec")


def apply_defaults(obj: Obj) -> Obj:
    """Fill defaulted fields of ``obj`` (in place) and return it."""
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        for key in ("labels", "annotations"):
            if meta.get(key) is None:
                meta.pop(key, None)
    kind = kinds.named(str(obj.get("kind", "")))
    if kind is not None:
        kind.strategy.defaults(obj)
    return obj
