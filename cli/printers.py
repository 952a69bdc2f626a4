"""Pure formatting of API objects the way kubectl prints them.

Tables per kind (the columns ``kubectl get`` shows, ``-o wide`` extras, a
NAMESPACE column with ``-A``), AGE as kubectl's human durations, the pod
STATUS kubectl computes, and the yaml/json/name outputs. Nothing here does I/O;
``now`` is passed in so the output is reproducible in tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from coxapi import quantity
from coxapi.kinds import Kind
from coxapi.meta import get_condition
from coxapi.timefmt import parse_time

Obj = dict[str, Any]
NONE = "<none>"


# ---- time ------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kubectl's ``duration.HumanDuration``: ``5s``, ``3m12s``, ``2d``, ``3y45d``."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None, now: datetime) -> str:
    t = parse_time(timestamp)
    if t is None:
        return "<unknown>"
    return human_duration((now - t).total_seconds())


def created_age(obj: Obj, now: datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp"), now)


# ---- names -----------------------------------------------------------------


def resource_name(kind: Kind) -> str:
    """``pod``, ``deployment.apps``: how kubectl names a kind in its messages."""
    return f"{kind.singular}.{kind.group}" if kind.group else kind.singular


def plural_name(kind: Kind) -> str:
    """``pods``, ``deployments.apps``: how the server names a kind in errors."""
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


def object_ref(kind: Kind, name: str) -> str:
    return f"{resource_name(kind)}/{name}"


# ---- pods ------------------------------------------------------------------


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


# ---- per-kind tables ------------------------------------------------------


def _containers(template_spec: Obj) -> tuple[str, str]:
    cs = template_spec.get("containers") or []
    return (",".join(c.get("name", "") for c in cs) or NONE,
            ",".join(c.get("image", "") for c in cs) or NONE)


def label_selector_text(sel: Obj | None) -> str:
    if not sel:
        return NONE
    parts = [f"{k}={v}" for k, v in (sel.get("matchLabels") or {}).items()]
    for e in sel.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin"}.get(e.get("operator", ""))
        if op:
            parts.append(f"{e.get('key')} {op} ({','.join(e.get('values') or [])})")
        elif e.get("operator") == "Exists":
            parts.append(str(e.get("key")))
        else:
            parts.append(f"!{e.get('key')}")
    return ",".join(parts) or NONE


def map_selector_text(sel: Obj | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (sel or {}).items()) or NONE


def _pod_row(o: Obj, now: datetime) -> list[str]:
    return [pod_ready(o), pod_status(o), pod_restarts(o, now), created_age(o, now)]


def _pod_wide(o: Obj) -> list[str]:
    return [(o.get("status") or {}).get("podIP") or NONE,
            (o.get("spec") or {}).get("nodeName") or NONE]


def _deploy_row(o: Obj, now: datetime) -> list[str]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [f"{st.get('readyReplicas', 0) or 0}/{spec.get('replicas', 1)}",
            str(st.get("updatedReplicas", 0) or 0), str(st.get("availableReplicas", 0) or 0),
            created_age(o, now)]


def _workload_wide(o: Obj) -> list[str]:
    spec = o.get("spec") or {}
    names, images = _containers(((spec.get("template") or {}).get("spec")) or {})
    return [names, images, label_selector_text(spec.get("selector"))]


def _rs_row(o: Obj, now: datetime) -> list[str]:
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [str(spec.get("replicas", 1)), str(st.get("replicas", 0) or 0),
            str(st.get("readyReplicas", 0) or 0), created_age(o, now)]


def service_ports(svc: Obj) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        port = f"{p.get('port')}"
        if p.get("nodePort"):
            port += f":{p['nodePort']}"
        out.append(f"{port}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or NONE


def _external_ip(svc: Obj) -> str:
    spec = svc.get("spec") or {}
    ips = list(spec.get("externalIPs") or [])
    if spec.get("type") == "LoadBalancer":
        ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
        ips += [i.get("ip") or i.get("hostname") for i in ingress]
        return ",".join(ips) if ips else "<pending>"
    if spec.get("type") == "ExternalName":
        return spec.get("externalName") or NONE
    return ",".join(ips) or NONE


def _svc_row(o: Obj, now: datetime) -> list[str]:
    spec = o.get("spec") or {}
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP") or NONE, _external_ip(o),
            service_ports(o), created_age(o, now)]


def node_status(node: Obj) -> str:
    ready = get_condition(node, "Ready")
    if ready is None:
        s = "Unknown"
    else:
        s = {"True": "Ready", "False": "NotReady"}.get(ready.get("status"), "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        s += ",SchedulingDisabled"
    return s


def node_roles(node: Obj) -> str:
    roles = []
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            roles.append(key.split("/", 1)[1] or value)
        elif key == "kubernetes.io/role":
            roles.append(value)
    return ",".join(sorted(r for r in roles if r)) or NONE


def node_address(node: Obj, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if a.get("type") == kind:
            return a.get("address") or NONE
    return NONE


def _node_row(o: Obj, now: datetime) -> list[str]:
    info = (o.get("status") or {}).get("nodeInfo") or {}
    return [node_status(o), node_roles(o), created_age(o, now), info.get("kubeletVersion") or ""]


def _node_wide(o: Obj) -> list[str]:
    info = (o.get("status") or {}).get("nodeInfo") or {}
    return [node_address(o, "InternalIP"), node_address(o, "ExternalIP"),
            info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
            info.get("containerRuntimeVersion") or "<unknown>"]


def endpoints_summary(ep: Obj, limit: int = 3) -> str:
    addrs = []
    for subset in ep.get("subsets") or []:
        ports = subset.get("ports") or []
        for a in subset.get("addresses") or []:
            if ports:
                addrs += [f"{a.get('ip')}:{p.get('port')}" for p in ports]
            else:
                addrs.append(str(a.get("ip")))
    if not addrs:
        return NONE
    more = len(addrs) - limit
    return ",".join(addrs[:limit]) + (f" + {more} more..." if more > 0 else "")


def event_time(e: Obj) -> str | None:
    return (e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp")
            or (e.get("metadata") or {}).get("creationTimestamp"))


def _event_row(o: Obj, now: datetime) -> list[str]:
    inv = o.get("involvedObject") or {}
    obj = f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}"
    return [age(event_time(o), now), o.get("type") or "", o.get("reason") or "", obj,
            " ".join(str(o.get("message") or "").split())]


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    row: Callable[[Obj, datetime], list[str]]
    wide_headers: tuple[str, ...] = ()
    wide: Callable[[Obj], list[str]] | None = None
    name_header: str = "NAME"


TABLES: dict[str, Table] = {
    "Pod": Table(("READY", "STATUS", "RESTARTS", "AGE"), _pod_row, ("IP", "NODE"), _pod_wide),
    "Deployment": Table(("READY", "UP-TO-DATE", "AVAILABLE", "AGE"), _deploy_row,
                        ("CONTAINERS", "IMAGES", "SELECTOR"), _workload_wide),
    "ReplicaSet": Table(("DESIRED", "CURRENT", "READY", "AGE"), _rs_row,
                        ("CONTAINERS", "IMAGES", "SELECTOR"), _workload_wide),
    "Service": Table(("TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"), _svc_row,
                     ("SELECTOR",), lambda o: [map_selector_text((o.get("spec") or {}).get("selector"))]),
    "Node": Table(("STATUS", "ROLES", "AGE", "VERSION"), _node_row,
                  ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                   "CONTAINER-RUNTIME"), _node_wide),
    "Endpoints": Table(("ENDPOINTS", "AGE"), lambda o, now: [endpoints_summary(o),
                                                             created_age(o, now)]),
    "Namespace": Table(("STATUS", "AGE"), lambda o, now: [
        (o.get("status") or {}).get("phase") or "Active", created_age(o, now)]),
    "ConfigMap": Table(("DATA", "AGE"), lambda o, now: [
        str(len(o.get("data") or {}) + len(o.get("binaryData") or {})), created_age(o, now)]),
    "Secret": Table(("TYPE", "DATA", "AGE"), lambda o, now: [
        o.get("type") or "Opaque", str(len(o.get("data") or {}) + len(o.get("stringData") or {})),
        created_age(o, now)]),
    "Event": Table(("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), _event_row,
                   name_header=""),
    "Lease": Table(("HOLDER", "AGE"), lambda o, now: [
        (o.get("spec") or {}).get("holderIdentity") or "", created_age(o, now)]),
}
_GENERIC = Table(("AGE",), lambda o, now: [created_age(o, now)])


def headers_for(kind: Kind, wide: bool = False, all_namespaces: bool = False,
                show_labels: bool = False) -> list[str]:
    t = TABLES.get(kind.kind, _GENERIC)
    out = (["NAMESPACE"] if all_namespaces and kind.namespaced else [])
    out += ([t.name_header] if t.name_header else []) + list(t.headers)
    if wide:
        out += list(t.wide_headers)
    if show_labels:
        out.append("LABELS")
    return out


def row_for(kind: Kind, obj: Obj, now: datetime, wide: bool = False,
            all_namespaces: bool = False, show_labels: bool = False) -> list[str]:
    t = TABLES.get(kind.kind, _GENERIC)
    meta = obj.get("metadata") or {}
    out = [meta.get("namespace", "")] if all_namespaces and kind.namespaced else []
    out += ([meta.get("name", "")] if t.name_header else []) + t.row(obj, now)
    if wide and t.wide is not None:
        out += t.wide(obj)
    if show_labels:
        out.append(",".join(f"{k}={v}" for k, v in (meta.get("labels") or {}).items()) or NONE)
    return out


def sort_for_table(kind: Kind, objs: list[Obj]) -> list[Obj]:
    """Events oldest first (the newest end up at the bottom, near the prompt)."""
    if kind.kind == "Event":
        return sorted(objs, key=lambda e: parse_time(event_time(e)) or datetime.min.replace(
            tzinfo=UTC))
    return objs


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            if i >= len(widths):
                widths.append(0)
            widths[i] = max(widths[i], len(cell))
    return widths


def format_row(row: Sequence[str], widths: Sequence[int]) -> str:
    """Columns separated by at least three spaces, like kubectl's tabwriter."""
    cells = [cell.ljust(widths[i] if i < len(widths) else 0) for i, cell in enumerate(row)]
    return "   ".join(cells).rstrip()


def render_table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = column_widths(rows)
    return [format_row(r, widths) for r in rows]


# ---- yaml / json / name -----------------------------------------------------


def with_type_meta(kind: Kind, obj: Obj) -> Obj:
    """List items come without apiVersion/kind; put them back for printing."""
    if obj.get("kind") and obj.get("apiVersion"):
        return obj
    return {"apiVersion": kind.api_version, "kind": kind.kind, **obj}


def as_list(items: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "kind": "List", "items": items,
            "metadata": {"resourceVersion": ""}}


_TOP_ORDER = ("apiVersion", "kind", "metadata", "spec", "status")


def canonical(obj: Any) -> Any:
    """apiVersion, kind, metadata, spec, status first (as kubectl prints), also in lists."""
    if not isinstance(obj, dict):
        return obj
    ordered = {k: obj[k] for k in _TOP_ORDER if k in obj}
    ordered.update((k, v) for k, v in obj.items() if k not in ordered)
    if isinstance(ordered.get("items"), list):
        ordered["items"] = [canonical(i) for i in ordered["items"]]
    return ordered


def to_yaml(obj: Obj) -> str:
    return yaml.safe_dump(canonical(obj), default_flow_style=False, sort_keys=False)


def to_json(obj: Obj) -> str:
    return json.dumps(canonical(obj), indent=4) + "\n"


# ---- top ---------------------------------------------------------------------


def _percent(used: int, total: int) -> str:
    return f"{used * 100 // total}%" if total > 0 else "<unknown>"


def top_node_row(node: Obj) -> list[str]:
    """NAME CPU(cores) CPU% MEMORY(bytes) MEMORY% from ``status.usage`` and allocatable."""
    status = node.get("status") or {}
    usage = status.get("usage") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    name = (node.get("metadata") or {}).get("name", "")
    try:
        cpu, mem = quantity.parse_cpu(usage["cpu"]), quantity.parse_memory(usage["memory"])
    except (KeyError, ValueError, TypeError):
        return [name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]
    try:
        alloc_cpu = quantity.parse_cpu(alloc.get("cpu", 0))
        alloc_mem = quantity.parse_memory(alloc.get("memory", 0))
    except ValueError:
        alloc_cpu = alloc_mem = 0
    return [name, f"{cpu}m", _percent(cpu, alloc_cpu), f"{mem // 2**20}Mi",
            _percent(mem, alloc_mem)]


def top_pod_row(pod: Obj) -> list[str] | None:
    """NAME CPU(cores) MEMORY(bytes), or None when the pod has no usage yet."""
    usage = (pod.get("status") or {}).get("usage") or {}
    try:
        cpu, mem = quantity.parse_cpu(usage["cpu"]), quantity.parse_memory(usage["memory"])
    except (KeyError, ValueError, TypeError):
        return None
    return [(pod.get("metadata") or {}).get("name", ""), f"{cpu}m", f"{mem // 2**20}Mi"]
