"""Pods: graceful deletion through their node, status written by the node."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from coxapi import defaults, patchmeta, podresources
from coxapi.meta import get_condition
from coxapi.quantity import QuantityError, parse_cpu, parse_memory
from coxapi.timefmt import parse_time
from coxapi.validation import pods, updates
from coxapi.validation.common import Errors

from .columns import AGE, NONE, Column, human_duration
from .kind import Kind
from .strategy import ABSENT, NodeRead, NodeWrite, Strategy

Obj = dict[str, Any]


def _map(value: Any) -> Obj:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def qos_class(spec: Obj) -> str:
    """The pod's QoS class: Guaranteed, Burstable or BestEffort."""
    containers = [c for c in _list(spec.get("containers") if isinstance(spec, dict) else None)
                  if isinstance(c, dict)]
    any_set, guaranteed = False, bool(containers)
    for c in containers:  # a spec not yet validated: any field may be of any type
        res = _map(c.get("resources"))
        req, lim = _map(res.get("requests")), _map(res.get("limits"))
        any_set = any_set or bool(req) or bool(lim)
        for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            try:
                if name not in lim or parse(req[name] if name in req else lim[name]) != parse(lim[name]):
                    guaranteed = False
            except QuantityError:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_status(pod: Obj) -> str:
    """The STATUS column, computed as kubectl's ``printPod`` does."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"

    initializing = False
    init_specs = (pod.get("spec") or {}).get("initContainers") or []
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        state = c.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode')}"
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing:
        has_running = False
        for c in reversed(status.get("containerStatuses") or []):
            state = c.get("state") or {}
            wait, term = state.get("waiting"), state.get("terminated")
            if wait and wait.get("reason"):
                reason = wait["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = (f"Signal:{term['signal']}" if term.get("signal")
                          else f"ExitCode:{term.get('exitCode')}")
            elif c.get("ready") and state.get("running") is not None:
                has_running = True
        if reason == "Completed" and has_running:
            ready = get_condition(pod, "Ready")
            reason = "Running" if ready and ready.get("status") == "True" else "NotReady"

    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def pod_ready(pod: Obj) -> str:
    total = len((pod.get("spec") or {}).get("containers") or [])
    ready = sum(1 for c in (pod.get("status") or {}).get("containerStatuses") or []
                if c.get("ready"))
    return f"{ready}/{total}"


def pod_restarts(pod: Obj, now: datetime) -> str:
    """``3`` or, like kubectl, ``3 (2m ago)`` when the last restart time is known."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    restarts = sum(int(c.get("restartCount") or 0) for c in statuses)
    last = None
    for c in statuses:
        finished = parse_time(((c.get("lastState") or {}).get("terminated") or {})
                              .get("finishedAt"))
        if finished and (last is None or finished > last):
            last = finished
    if restarts and last is not None:
        return f"{restarts} ({human_duration((now - last).total_seconds())} ago)"
    return str(restarts)


def readiness_gates(pod: Obj) -> str:
    """``ready/total`` of the pod's readiness gates, as kubectl prints them."""
    gates = (pod.get("spec") or {}).get("readinessGates") or []
    if not gates:
        return NONE
    ready = 0
    for gate in gates:
        cond = get_condition(pod, str((gate or {}).get("conditionType")))
        ready += bool(cond and cond.get("status") == "True")
    return f"{ready}/{len(gates)}"


def pod_references(pod: Obj) -> set[tuple[str, str]]:
    """The Secrets, ConfigMaps and ServiceAccount a pod uses, as ``(kind, name)``."""
    spec: Obj = pod["spec"] if isinstance(pod.get("spec"), dict) else {}
    refs: set[tuple[str, str]] = set()

    def add(kind: str, ref: Any, field: str = "name") -> None:
        if isinstance(ref, dict) and isinstance(ref.get(field), str) and ref[field]:
            refs.add((kind, ref[field]))
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if not isinstance(c, dict):
            continue
        for src in c.get("envFrom") or []:
            if isinstance(src, dict):
                add("Secret", src.get("secretRef"))
                add("ConfigMap", src.get("configMapRef"))
        for var in c.get("env") or []:
            source = var.get("valueFrom") if isinstance(var, dict) else None
            if isinstance(source, dict):
                add("Secret", source.get("secretKeyRef"))
                add("ConfigMap", source.get("configMapKeyRef"))
    for vol in spec.get("volumes") or []:
        if isinstance(vol, dict):
            add("Secret", vol.get("secret"), "secretName")
            add("ConfigMap", vol.get("configMap"))
            projected = vol.get("projected")
            for src in (projected.get("sources") or []) if isinstance(projected, dict) else []:
                if isinstance(src, dict):
                    add("Secret", src.get("secret"))
                    add("ConfigMap", src.get("configMap"))
    for ref in spec.get("imagePullSecrets") or []:
        add("Secret", ref)
    add("ServiceAccount", {"name": spec.get("serviceAccountName") or "default"})
    return refs


class PodStrategy(Strategy):
    graceful_deletion = True
    return_deleted_object = True
    patch_fields = patchmeta.fields_of(spec=patchmeta.POD_SPEC, status=patchmeta.POD_STATUS)
    field_selectors = ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                       "spec.serviceAccountName", "status.phase", "status.podIP",
                       "status.nominatedNodeName")
    columns = (
        Column("READY", lambda o, now: pod_ready(o),
               description="The number of ready containers and of all containers."),
        Column("STATUS", lambda o, now: pod_status(o),
               description="The aggregate status of the containers in this pod."),
        Column("RESTARTS", pod_restarts, description=(
            "The number of times the containers in this pod have been restarted and when "
            "the last container in this pod has restarted.")),
        AGE,
        Column("IP", ".status.podIP", 1, NONE, "IP address allocated to the pod."),
        Column("NODE", ".spec.nodeName", 1, NONE, "Name of the Node this pod is bound to."),
        Column("NOMINATED NODE", ".status.nominatedNodeName", 1, NONE,
               "Name of the node where this pod was nominated to run (preemption)."),
        Column("READINESS GATES", lambda o, now: readiness_gates(o), 1,
               description="The readiness gates of this pod that are ready, of all."),
    )

    def defaults(self, obj: Obj) -> None:
        defaults.pod(obj)

    def uses_quota(self, obj: Obj) -> bool:
        return (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")

    def compute_usage(self, obj: Obj, section: str, resource: str) -> tuple[int, list[str]]:
        return podresources.pod_total(obj, section, resource)

    def validate(self, errs: Errors, obj: Obj) -> None:
        pods.validate_pod(errs, obj)

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        updates.pod_update(errs, old, new)

    def prepare_for_create(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        # Only a pod that a node may be running needs time to stop.
        spec = obj.get("spec") or {}
        if not spec.get("nodeName"):
            return 0
        return int(spec.get("terminationGracePeriodSeconds", 30)) if requested is None \
            else requested

    def remove_when_finalized(self, obj: Obj) -> bool:
        # A pod still in its grace period waits for its node.
        return int(obj["metadata"].get("deletionGracePeriodSeconds") or 0) <= 0

    def bound_node(self, obj: Obj) -> str | None:
        return (obj.get("spec") or {}).get("nodeName")

    def references(self, obj: Obj) -> Iterable[tuple[str, str]]:
        return pod_references(obj)

    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        return obj.get("metadata") or {}, obj.get("spec") or {}, True

    def node_read(self, r: NodeRead) -> str | None:
        return f"node {r.node} may not read pod logs" if r.subresource == "log" else None

    def node_write(self, w: NodeWrite) -> str | None:
        # A node writes the status of the pods bound to it and removes them at the end.
        if not w.collection and (w.subresource == "status" and w.method in ("PUT", "PATCH")
                                 or w.subresource is None and w.method == "DELETE"):
            bound = w.bound_node()
            return None if bound in (w.node, ABSENT) else \
                f"node {w.node} may only change pods bound to it"
        return w.denied()


KIND = Kind("Pod", "pods", "", "v1", True, ("po",),
            ("status", "log", "eviction", "exec", "attach", "portforward"),
            strategy=PodStrategy(), categories=("all",))
