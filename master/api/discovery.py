"""Discovery documents (``/api``, ``/apis``, ``/api/v1``, ``/apis/<group>/<version>``)
and ``/version``, shaped like Kubernetes' so standard clients can find their way."""

from __future__ import annotations

import platform
from typing import Any

from flask import Blueprint, Response, request

from coxapi import errors, kinds
from coxapi.usagereport import GROUP_VERSION as METRICS_GROUP_VERSION

from .responses import json_response
from .state import state

Obj = dict[str, Any]

_SUBRESOURCE_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
                      "log": ["get"], "token": ["create"], "eviction": ["create"],
                      "exec": ["create", "get"],
                      "attach": ["create", "get"], "portforward": ["create", "get"]}


def _groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k in kinds.SERVED:
        if k.group and k.version not in out.setdefault(k.group, []):
            out[k.group].append(k.version)
    group, version = METRICS_GROUP_VERSION.split("/")  # served by master.api.metrics
    out[group] = [version]
    return out


def api_versions(server_address: str) -> Obj:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(group: str) -> Obj:
    versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in _groups()[group]]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions,
            "preferredVersion": versions[0]}


def api_group_list() -> Obj:
    groups = [api_group(g) for g in _groups()]
    for g in groups:
        del g["kind"], g["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(group_version: str) -> Obj:
    resources: list[Obj] = []
    for k in kinds.group_versions().get(group_version, []):
        verbs = list(k.verbs)
        if "deletecollection" not in verbs and "delete" in verbs:
            verbs.append("deletecollection")
        entry: Obj = {"name": k.plural, "singularName": k.singular, "namespaced": k.namespaced,
                      "kind": k.kind, "verbs": sorted(verbs)}
        if k.short_names:
            entry["shortNames"] = list(k.short_names)
        if k.categories:
            entry["categories"] = list(k.categories)
        resources.append(entry)
        for sub in k.subresources:
            sub_entry: Obj = {"name": f"{k.plural}/{sub}", "singularName": "",
                              "namespaced": k.namespaced, "kind": k.kind,
                              "verbs": _SUBRESOURCE_VERBS.get(sub, ["get"])}
            if sub == "scale":
                sub_entry.update(kind="Scale", group="autoscaling", version="v1")
            elif sub == "eviction":  # kubectl drain looks for this entry to evict
                sub_entry.update(kind="Eviction", group="policy", version="v1")
            resources.append(sub_entry)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources}


def version_info(git_version: str) -> Obj:
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "",
            "gitTreeState": "clean", "buildDate": "", "goVersion": f"python{platform.python_version()}",
            "compiler": "cpython", "platform": f"{platform.system().lower()}/{platform.machine()}"}


def create_blueprint() -> Blueprint:
    bp = Blueprint("discovery", __name__)


    # Kubernetes answers these with and without a trailing slash (kr8s asks /version/).
    @bp.get("/version", strict_slashes=False)
    def version() -> Response:
        return json_response(version_info(state().config.git_version))

    @bp.get("/api", strict_slashes=False)
    def api() -> Response:
        return json_response(api_versions(request.host))

    @bp.get("/apis", strict_slashes=False)
    def apis() -> Response:
        return json_response(api_group_list())

    @bp.get("/apis/<group>", strict_slashes=False)
    def group(group: str) -> Response:
        if group not in _groups():
            raise errors.NotFound("the server could not find the requested resource")
        return json_response(api_group(group))

    return bp
