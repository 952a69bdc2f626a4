"""Validation of pods and pod specs (also the templates of workloads)."""

from __future__ import annotations

import json
import re
from typing import Any

from .. import quantity
from .common import (
    DNS_POLICIES,
    IANA_SVC_NAME,
    INT64_MAX,
    PROTOCOLS,
    PULL_POLICIES,
    REQUIRED,
    RESTART_POLICIES,
    TAINT_EFFECTS,
    TOLERATION_OPERATORS,
    Errors,
    dns1123_label,
    dns1123_subdomain,
    int_or_name_port,
    is_str,
    label_map,
    nonneg_int,
    object_list,
    one_of,
    port_number,
    string_list,
)
from .volumes import validate_mounts, validate_volumes

Obj = dict[str, Any]

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _probe(errs: Errors, field: str, probe: Any) -> None:
    if probe is None:
        return
    if not isinstance(probe, dict):
        errs.add(field, "must be an object")
        return
    handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if probe.get(h) is not None]
    if len(handlers) != 1:
        errs.add(field, "must specify exactly one handler type (exec, httpGet, tcpSocket or grpc)")
    if isinstance(probe.get("exec"), dict):
        cmd = probe["exec"].get("command")
        if not isinstance(cmd, list) or not cmd or not all(is_str(c) for c in cmd):
            errs.add(f"{field}.exec.command", "must be a non-empty list of strings")
    elif probe.get("exec") is not None:
        errs.add(f"{field}.exec", "must be an object")
    for h in ("httpGet", "tcpSocket"):
        v = probe.get(h)
        if v is None:
            continue
        if not isinstance(v, dict):
            errs.add(f"{field}.{h}", "must be an object")
            continue
        int_or_name_port(errs, f"{field}.{h}.port", v.get("port"))
        if h == "httpGet":
            if v.get("scheme", "HTTP") not in ("HTTP", "HTTPS"):
                errs.add(f"{field}.httpGet.scheme", 'Unsupported value: must be "HTTP" or "HTTPS"')
            path = v.get("path", "/")
            if not is_str(path) or not path.startswith("/"):
                errs.add(f"{field}.httpGet.path", "must be an absolute path")
    nonneg_int(errs, f"{field}.initialDelaySeconds", probe.get("initialDelaySeconds"))
    for key in ("timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        nonneg_int(errs, f"{field}.{key}", probe.get(key), minimum=1)


def _resources(errs: Errors, field: str, res: Any) -> None:
    if res is None:
        return
    if not isinstance(res, dict):
        errs.add(field, "must be an object")
        return
    parsed: dict[str, dict[str, int]] = {}
    for section in ("limits", "requests"):
        values = res.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            errs.add(f"{field}.{section}", "must be a map of resource names to quantities")
            continue
        parsed[section] = {}
        for name, q in values.items():
            f = f"{field}.{section}.{name}"
            try:
                if name == "cpu":
                    parsed[section][name] = quantity.parse_cpu(q)
                elif name in ("memory", "ephemeral-storage"):
                    parsed[section][name] = quantity.parse_memory(q)
                else:
                    quantity.parse(q)
            except quantity.QuantityError as e:
                errs.add(f, f"Invalid value: {q!r}: {e}")
    for name, req in parsed.get("requests", {}).items():
        lim = parsed.get("limits", {}).get(name)
        if lim is not None and req > lim:
            errs.add(f"{field}.requests.{name}",
                     f"Invalid value: {res['requests'][name]!r}: must be less than or equal "
                     f"to {name} limit of {res['limits'][name]}")


def _env(errs: Errors, field: str, env: Any) -> None:
    for f, e in object_list(errs, field, env):
        name = e.get("name")
        if not name or not is_str(name):
            errs.add(f"{f}.name", REQUIRED)
        elif not _ENV_NAME.match(name):
            errs.add(f"{f}.name", f"Invalid value: {name!r}: a valid environment variable "
                                  "name must consist of alphabetic characters, digits, '_', "
                                  "'-', or '.', and must not start with a digit")
        if "value" in e and e["value"] is not None and not is_str(e["value"]):
            errs.add(f"{f}.value", "must be a string")
        if e.get("value") is not None and e.get("valueFrom") is not None:
            errs.add(f"{f}.valueFrom", "may not be specified when `value` is not empty")


def _container(errs: Errors, field: str, c: Any, names: set[str], host_ports: set,
               volumes: set[str]) -> None:
    if not isinstance(c, dict):
        errs.add(field, "must be an object")
        return
    name = c.get("name")
    if not name:
        errs.add(f"{field}.name", REQUIRED)
    elif not is_str(name) or dns1123_label(name):
        errs.add(f"{field}.name", f"Invalid value: {name!r}: must be a DNS-1123 label")
    elif name in names:
        errs.add(f"{field}.name", f"Duplicate value: {name!r}")
    else:
        names.add(name)
    image = c.get("image")
    if not image or not is_str(image) or not image.strip():
        errs.add(f"{field}.image", REQUIRED)
    elif image != image.strip():
        errs.add(f"{field}.image", "must not have leading or trailing whitespace")
    string_list(errs, f"{field}.command", c.get("command"))
    string_list(errs, f"{field}.args", c.get("args"))
    if c.get("imagePullPolicy") is not None:
        one_of(errs, f"{field}.imagePullPolicy", c["imagePullPolicy"], PULL_POLICIES)
    port_names: set[str] = set()
    for pf, p in object_list(errs, f"{field}.ports", c.get("ports")):
        port_number(errs, f"{pf}.containerPort", p.get("containerPort"))
        if p.get("hostPort") not in (None, 0):
            port_number(errs, f"{pf}.hostPort", p.get("hostPort"))
            key = json.dumps([p.get("hostPort"), p.get("protocol", "TCP")])  # any JSON
            if key in host_ports:
                errs.add(f"{pf}.hostPort", f"Duplicate value: {p.get('hostPort')}")
            host_ports.add(key)
        one_of(errs, f"{pf}.protocol", p.get("protocol", "TCP"), PROTOCOLS)
        pname = p.get("name")
        if pname is not None:
            if not is_str(pname) or len(pname) > 15 or not IANA_SVC_NAME.match(pname):
                errs.add(f"{pf}.name", f"Invalid value: {pname!r}: must be an IANA service "
                                       "name (at most 15 lowercase alphanumerics or '-')")
            elif pname in port_names:
                errs.add(f"{pf}.name", f"Duplicate value: {pname!r}")
            else:
                port_names.add(pname)
    _env(errs, f"{field}.env", c.get("env"))
    validate_mounts(errs, f"{field}.volumeMounts", c.get("volumeMounts"), volumes)
    _resources(errs, f"{field}.resources", c.get("resources"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(errs, f"{field}.{probe}", c.get(probe))


def _tolerations(errs: Errors, field: str, tols: Any) -> None:
    for f, t in object_list(errs, field, tols):
        op = t.get("operator", "Equal")
        one_of(errs, f"{f}.operator", op, TOLERATION_OPERATORS)
        if op == "Exists" and t.get("value"):
            errs.add(f"{f}.operator", "value must be empty when `operator` is 'Exists'")
        if op == "Equal" and not t.get("key"):
            errs.add(f"{f}.key", "operator must be Exists when `key` is empty")
        if t.get("effect") not in (None, "", *TAINT_EFFECTS):
            errs.add(f"{f}.effect", f"Unsupported value: {t.get('effect')!r}")


def validate_pod_spec(errs: Errors, field: str, spec: Any) -> None:
    if not isinstance(spec, dict):
        errs.add(field, REQUIRED)
        return
    containers = spec.get("containers")
    names: set[str] = set()
    host_ports: set = set()
    volumes = validate_volumes(errs, f"{field}.volumes", spec.get("volumes"))
    if not isinstance(containers, list) or not containers:
        errs.add(f"{field}.containers", REQUIRED)
    else:
        for i, c in enumerate(containers):
            _container(errs, f"{field}.containers[{i}]", c, names, host_ports, volumes)
    init = spec.get("initContainers")
    if init is not None:
        if not isinstance(init, list):
            errs.add(f"{field}.initContainers", "must be a list")
        else:
            for i, c in enumerate(init):
                _container(errs, f"{field}.initContainers[{i}]", c, names, set(), volumes)
    one_of(errs, f"{field}.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    if spec.get("dnsPolicy") is not None:
        one_of(errs, f"{field}.dnsPolicy", spec["dnsPolicy"], DNS_POLICIES)
    nonneg_int(errs, f"{field}.terminationGracePeriodSeconds",
               spec.get("terminationGracePeriodSeconds"), maximum=INT64_MAX)
    nonneg_int(errs, f"{field}.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"), 1,
               maximum=INT64_MAX)
    node_name = spec.get("nodeName")
    if node_name not in (None, "") and (not is_str(node_name) or dns1123_subdomain(node_name)):
        errs.add(f"{field}.nodeName", f"Invalid value: {node_name!r}: must be a DNS-1123 subdomain")
    sel = spec.get("nodeSelector")
    if sel is not None:
        label_map(errs, f"{field}.nodeSelector", sel)
    _tolerations(errs, f"{field}.tolerations", spec.get("tolerations"))


def validate_pod(errs: Errors, obj: Obj) -> None:
    validate_pod_spec(errs, "spec", obj.get("spec"))
