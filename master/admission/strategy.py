"""Per-kind preparation of objects for create, update and status update,
like Kubernetes' REST strategies. Pure: no store access, the clock is injected.
"""

from __future__ import annotations

import base64
import binascii
import copy
from typing import Any

from coxapi import defaults, kinds, validation
from coxapi.errors import Invalid
from coxapi.meta import SERVER_META
from coxapi.quantity import QuantityError, parse_cpu, parse_memory

Obj = dict[str, Any]


def qos_class(spec: Obj) -> str:
    """The pod's QoS class: Guaranteed, Burstable or BestEffort."""
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    any_set, guaranteed = False, bool(containers)
    for c in containers:
        res = c.get("resources") or {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        any_set = any_set or bool(req) or bool(lim)
        for name, parse in (("cpu", parse_cpu), ("memory", parse_memory)):
            try:
                if name not in lim or parse(req.get(name, lim[name])) != parse(lim[name]):
                    guaranteed = False
            except QuantityError:
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _initial_status(kind: kinds.Kind, obj: Obj) -> None:
    """Status a client sent on create is dropped for kinds whose status the
    system writes (as Kubernetes does); nodes report their own from the start."""
    if kind.kind == "Pod":
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
    elif kind.kind == "Namespace":
        obj["status"] = {"phase": "Active"}
    elif kind.kind in ("Service", "Deployment", "ReplicaSet"):
        obj["status"] = {"loadBalancer": {}} if kind.kind == "Service" else {}


def _secret_data(obj: Obj) -> None:
    """``stringData`` is write-only: merged into ``data`` (base64), as Kubernetes
    does; ``data`` values must be base64."""
    data = obj.get("data")
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = data if isinstance(data, dict) else {}
        for k, v in string_data.items():
            if isinstance(v, str):
                data[k] = base64.b64encode(v.encode()).decode()
        obj["data"] = data
    if isinstance(data, dict):
        bad = []
        for k, v in data.items():
            try:
                base64.b64decode(v.encode() if isinstance(v, str) else b"!", validate=True)
            except (binascii.Error, ValueError):
                bad.append((f"data[{k}]", "Invalid value: must be base64-encoded"))
        if bad:
            raise Invalid.fields("Secret", str(obj.get("metadata", {}).get("name", "")), bad)


def _keep_allocated(kind: kinds.Kind, old: Obj, new: Obj) -> None:
    """A Service update that leaves out what the system allocated (clusterIP,
    nodePorts) keeps the allocated values, like Kubernetes' patchAllocatedValues."""
    if kind.kind != "Service":
        return
    ospec, nspec = old.get("spec") or {}, new.get("spec")
    if not isinstance(nspec, dict):
        return
    for f in ("clusterIP", "clusterIPs"):
        if not nspec.get(f) and ospec.get(f):
            nspec[f] = copy.deepcopy(ospec[f])
    if nspec.get("type") in ("NodePort", "LoadBalancer"):
        allocated = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
                     for p in ospec.get("ports") or [] if isinstance(p, dict)}
        for p in nspec.get("ports") or []:
            if isinstance(p, dict) and not p.get("nodePort"):
                np = allocated.get((p.get("port"), p.get("protocol", "TCP")))
                if np:
                    p["nodePort"] = np


def prepare_create(kind: kinds.Kind, obj: Obj) -> Obj:
    """Defaults, server-set status, then validation (raises ``Invalid``)."""
    obj = copy.deepcopy(obj)
    meta = obj.setdefault("metadata", {})
    for f in SERVER_META:
        meta.pop(f, None)
    meta.pop("resourceVersion", None)
    defaults.apply_defaults(obj)
    _initial_status(kind, obj)
    if kind.kind == "Secret":
        _secret_data(obj)
    validation.validate(obj)
    return obj


def prepare_update(kind: kinds.Kind, old: Obj, new: Obj) -> Obj:
    """A main-resource update: server-owned metadata and (for kinds with a
    status subresource) the status stay as stored."""
    new = copy.deepcopy(new)
    meta = new.setdefault("metadata", {})
    for f in SERVER_META:
        if f in old["metadata"]:
            meta[f] = old["metadata"][f]
        else:
            meta.pop(f, None)
    if "status" in kind.subresources:
        if "status" in old:
            new["status"] = copy.deepcopy(old["status"])
        else:
            new.pop("status", None)
    defaults.apply_defaults(new)
    _keep_allocated(kind, old, new)
    if kind.kind == "Secret":
        _secret_data(new)
    validation.validate_update(old, new)
    return new


def prepare_status_update(kind: kinds.Kind, old: Obj, body: Obj) -> Obj:
    """A status update changes the status only; everything else stays as stored."""
    status = body.get("status")
    if status is not None and not isinstance(status, dict):
        raise Invalid.fields(kind.kind, old["metadata"]["name"], [("status", "must be an object")])
    new = copy.deepcopy(old)
    if status is None:
        new.pop("status", None)
    else:
        new["status"] = copy.deepcopy(status)
    rv = (body.get("metadata") or {}).get("resourceVersion") if isinstance(body.get("metadata"), dict) else None
    if rv:
        new["metadata"]["resourceVersion"] = rv
    return new
