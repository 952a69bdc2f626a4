"""Pure formatting of API objects the way kubectl prints them.

Tables per kind (the columns ``kubectl get`` shows, ``-o wide`` extras, a
NAMESPACE column with ``-A``) from each kind's printer columns
(``coxapi.kinds``), and the yaml/json/name outputs. Nothing here does I/O;
``now`` is passed in so the output is reproducible in tests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml

from coxapi import quantity
from coxapi.kinds import Kind, columns, event, node, pod
from coxapi.kinds.columns import Column

Obj = dict[str, Any]

# The cell formatters live with their kinds; the CLI's commands use them from here.
NONE = columns.NONE
age = columns.age
created_age = columns.created_age
human_duration = columns.human_duration
label_selector_text = columns.label_selector_text
map_selector_text = columns.map_selector_text
event_time = event.event_time
node_address = node.node_address
node_roles = node.node_roles
node_status = node.node_status
pod_ready = pod.pod_ready
pod_restarts = pod.pod_restarts
pod_status = pod.pod_status


# ---- names -----------------------------------------------------------------


def resource_name(kind: Kind) -> str:
    """``pod``, ``deployment.apps``: how kubectl names a kind in its messages."""
    return f"{kind.singular}.{kind.group}" if kind.group else kind.singular


def plural_name(kind: Kind) -> str:
    """``pods``, ``deployments.apps``: how the server names a kind in errors."""
    return f"{kind.plural}.{kind.group}" if kind.group else kind.plural


def object_ref(kind: Kind, name: str) -> str:
    return f"{resource_name(kind)}/{name}"


# ---- per-kind tables ------------------------------------------------------


def _columns(kind: Kind, wide: bool) -> list[Column]:
    return [c for c in kind.strategy.columns if wide or c.priority == 0]


def headers_for(kind: Kind, wide: bool = False, all_namespaces: bool = False,
                show_labels: bool = False) -> list[str]:
    out = (["NAMESPACE"] if all_namespaces and kind.namespaced else [])
    out += (["NAME"] if kind.strategy.name_column else [])
    out += [c.name for c in _columns(kind, wide)]
    if show_labels:
        out.append("LABELS")
    return out


def row_for(kind: Kind, obj: Obj, now: datetime, wide: bool = False,
            all_namespaces: bool = False, show_labels: bool = False) -> list[str]:
    meta = obj.get("metadata") or {}
    out = [meta.get("namespace", "")] if all_namespaces and kind.namespaced else []
    out += ([meta.get("name", "")] if kind.strategy.name_column else [])
    out += [c.cell(obj, now) for c in _columns(kind, wide)]
    if show_labels:
        out.append(",".join(f"{k}={v}" for k, v in (meta.get("labels") or {}).items()) or NONE)
    return out


def sort_for_table(kind: Kind, objs: list[Obj]) -> list[Obj]:
    return kind.strategy.sort_for_table(objs)


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


def top_figures(usage: Obj | None) -> tuple[int, int] | None:
    """(millicores, bytes) of a Metrics API ``usage``; CPU rounded up, as kubectl does."""
    try:
        cpu = quantity.parse((usage or {})["cpu"])
        return math.ceil(cpu * 1000), quantity.parse_memory((usage or {})["memory"])
    except (KeyError, ValueError, TypeError):
        return None


def top_node_row(node: Obj, usage: Obj | None) -> list[str]:
    """NAME CPU(cores) CPU% MEMORY(bytes) MEMORY% from NodeMetrics ``usage`` and allocatable."""
    status = node.get("status") or {}
    alloc = status.get("allocatable") or status.get("capacity") or {}
    name = (node.get("metadata") or {}).get("name", "")
    figures = top_figures(usage)
    if figures is None:
        return [name, "<unknown>", "<unknown>", "<unknown>", "<unknown>"]
    cpu, mem = figures
    try:
        alloc_cpu = quantity.parse_cpu(alloc.get("cpu", 0))
        alloc_mem = quantity.parse_memory(alloc.get("memory", 0))
    except ValueError:
        alloc_cpu = alloc_mem = 0
    return [name, f"{cpu}m", _percent(cpu, alloc_cpu), f"{mem // 2**20}Mi",
            _percent(mem, alloc_mem)]


def top_usage_cells(usage: Obj | None) -> list[str]:
    """CPU(cores) MEMORY(bytes) of a Metrics API ``usage``."""
    figures = top_figures(usage)
    if figures is None:
        return ["<unknown>", "<unknown>"]
    return [f"{figures[0]}m", f"{figures[1] // 2**20}Mi"]


def pod_metrics_usage(metrics: Obj) -> Obj:
    """A PodMetrics' usage summed over its containers."""
    cpu, mem = 0, 0
    for c in metrics.get("containers") or []:
        figures = top_figures(c.get("usage"))
        if figures is not None:
            cpu, mem = cpu + figures[0], mem + figures[1]
    return {"cpu": f"{cpu}m", "memory": str(mem)}
