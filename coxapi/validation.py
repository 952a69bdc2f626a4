"""Validation of API objects, as Kubernetes validates them.

Pure: ``validate(obj)`` checks a (defaulted) object and raises ``Invalid``
whose ``details.causes`` name every offending field (``spec.containers[0].image``);
``validate_update(old, new)`` adds the rules about fields that cannot change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import labels as labelsel
from . import quantity
from .errors import Invalid

Obj = dict[str, Any]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_IANA_SVC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Exists", "Equal")
# Names that must be DNS-1123 labels (the rest are subdomains), as in Kubernetes.
_LABEL_NAMED = ("Namespace", "Service")
# The (name, message) Kubernetes uses for a missing required value.
REQUIRED = "Required value"


class Errors:
    """Collects (field, message) pairs while walking an object."""

    def __init__(self) -> None:
        self.causes: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.causes.append((field, message))

    def __bool__(self) -> bool:
        return bool(self.causes)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def dns1123_label(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS1123_LABEL.match(value):
        return ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character")
    return None


def dns1123_subdomain(value: str) -> str | None:
    if len(value) > 253:
        return "must be no more than 253 characters"
    if not _DNS1123_SUBDOMAIN.match(value):
        return ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character")
    return None


def dns1035_label(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if not _DNS1035_LABEL.match(value):
        return ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character")
    return None


# ---- metadata --------------------------------------------------------------


def _labels(errs: Errors, field: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errs.add(field, "must be a map of string keys to string values")
        return
    for k, v in value.items():
        if not labelsel.valid_key(k):
            errs.add(f"{field}[{k}]", "invalid label key: name part must consist of alphanumeric "
                                       "characters, '-', '_' or '.', and must start and end with "
                                       "an alphanumeric character (63 characters at most), with "
                                       "an optional DNS subdomain prefix and '/'")
        if not _is_str(v) or not labelsel.valid_value(v):
            errs.add(f"{field}[{k}]", f"invalid label value {v!r}: must be 63 characters or "
                                       "less, empty or beginning and ending with an alphanumeric "
                                       "character, with '-', '_', '.' and alphanumerics between")


def _annotations(errs: Errors, field: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errs.add(field, "must be a map of string keys to string values")
        return
    total = 0
    for k, v in value.items():
        if not labelsel.valid_key(k):
            errs.add(f"{field}[{k}]", "invalid annotation key")
        if not _is_str(v):
            errs.add(f"{field}[{k}]", "annotation values must be strings")
        else:
            total += len(k) + len(v)
    if total > 256 * 1024:
        errs.add(field, "annotations are too long: must have at most 262144 bytes")


def _owner_refs(errs: Errors, field: str, refs: Any) -> None:
    if refs is None:
        return
    if not isinstance(refs, list):
        errs.add(field, "must be a list")
        return
    controllers = 0
    for i, ref in enumerate(refs):
        f = f"{field}[{i}]"
        if not isinstance(ref, dict):
            errs.add(f, "must be an object")
            continue
        for key in ("apiVersion", "kind", "name", "uid"):
            if not ref.get(key) or not _is_str(ref.get(key)):
                errs.add(f"{f}.{key}", REQUIRED)
        if ref.get("controller"):
            controllers += 1
    if controllers > 1:
        errs.add(field, "only one reference can have Controller set to true")


def validate_metadata(errs: Errors, obj: Obj, kind: str, namespaced: bool) -> None:
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        errs.add("metadata", REQUIRED)
        return
    name = meta.get("name")
    if not name:
        errs.add("metadata.name", "name or generateName is required")
    elif not _is_str(name):
        errs.add("metadata.name", "must be a string")
    else:
        check = dns1123_label if kind in _LABEL_NAMED else dns1123_subdomain
        if kind == "Service":
            check = dns1035_label
        msg = check(name)
        if msg:
            errs.add("metadata.name", f"Invalid value: {name!r}: {msg}")
    if namespaced:
        ns = meta.get("namespace")
        if not ns:
            errs.add("metadata.namespace", REQUIRED)
        elif not _is_str(ns) or dns1123_label(ns):
            errs.add("metadata.namespace", f"Invalid value: {ns!r}: must be a DNS-1123 label")
    elif meta.get("namespace"):
        errs.add("metadata.namespace", "not allowed on this type (it is cluster-scoped)")
    _labels(errs, "metadata.labels", meta.get("labels"))
    _annotations(errs, "metadata.annotations", meta.get("annotations"))
    _owner_refs(errs, "metadata.ownerReferences", meta.get("ownerReferences"))
    fin = meta.get("finalizers")
    if fin is not None and (not isinstance(fin, list) or not all(_is_str(f) for f in fin)):
        errs.add("metadata.finalizers", "must be a list of strings")


# ---- pods ------------------------------------------------------------------


def _port_number(errs: Errors, field: str, value: Any, required: bool = True) -> None:
    if value is None:
        if required:
            errs.add(field, REQUIRED)
        return
    if not _is_int(value) or not 1 <= value <= 65535:
        errs.add(field, f"Invalid value: {value!r}: must be between 1 and 65535, inclusive")


def _int_or_name_port(errs: Errors, field: str, value: Any) -> None:
    if _is_str(value):
        if value.isdigit():
            _port_number(errs, field, int(value))
        elif not value or len(value) > 15 or not _IANA_SVC_NAME.match(value):
            errs.add(field, f"Invalid value: {value!r}: must be a port number or an IANA "
                            "service name (at most 15 lowercase alphanumerics or '-')")
    else:
        _port_number(errs, field, value)


def _nonneg_int(errs: Errors, field: str, value: Any, minimum: int = 0) -> None:
    if value is None:
        return
    if not _is_int(value) or value < minimum:
        errs.add(field, f"Invalid value: {value!r}: must be an integer >= {minimum}")


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
        if not isinstance(cmd, list) or not cmd or not all(_is_str(c) for c in cmd):
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
        _int_or_name_port(errs, f"{field}.{h}.port", v.get("port"))
        if h == "httpGet":
            if v.get("scheme", "HTTP") not in ("HTTP", "HTTPS"):
                errs.add(f"{field}.httpGet.scheme", 'Unsupported value: must be "HTTP" or "HTTPS"')
            path = v.get("path", "/")
            if not _is_str(path) or not path.startswith("/"):
                errs.add(f"{field}.httpGet.path", "must be an absolute path")
    _nonneg_int(errs, f"{field}.initialDelaySeconds", probe.get("initialDelaySeconds"))
    for key in ("timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        _nonneg_int(errs, f"{field}.{key}", probe.get(key), minimum=1)


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
    if env is None:
        return
    if not isinstance(env, list):
        errs.add(field, "must be a list")
        return
    for i, e in enumerate(env):
        f = f"{field}[{i}]"
        if not isinstance(e, dict):
            errs.add(f, "must be an object")
            continue
        name = e.get("name")
        if not name or not _is_str(name):
            errs.add(f"{f}.name", REQUIRED)
        elif not _ENV_NAME.match(name):
            errs.add(f"{f}.name", f"Invalid value: {name!r}: a valid environment variable "
                                  "name must consist of alphabetic characters, digits, '_', "
                                  "'-', or '.', and must not start with a digit")
        if "value" in e and e["value"] is not None and not _is_str(e["value"]):
            errs.add(f"{f}.value", "must be a string")
        if e.get("value") is not None and e.get("valueFrom") is not None:
            errs.add(f"{f}.valueFrom", "may not be specified when `value` is not empty")


def _string_list(errs: Errors, field: str, value: Any) -> None:
    if value is not None and (not isinstance(value, list) or not all(_is_str(v) for v in value)):
        errs.add(field, "must be a list of strings")


def _container(errs: Errors, field: str, c: Any, names: set[str], host_ports: set) -> None:
    if not isinstance(c, dict):
        errs.add(field, "must be an object")
        return
    name = c.get("name")
    if not name:
        errs.add(f"{field}.name", REQUIRED)
    elif not _is_str(name) or dns1123_label(name):
        errs.add(f"{field}.name", f"Invalid value: {name!r}: must be a DNS-1123 label")
    elif name in names:
        errs.add(f"{field}.name", f"Duplicate value: {name!r}")
    else:
        names.add(name)
    image = c.get("image")
    if not image or not _is_str(image) or not image.strip():
        errs.add(f"{field}.image", REQUIRED)
    elif image != image.strip():
        errs.add(f"{field}.image", "must not have leading or trailing whitespace")
    _string_list(errs, f"{field}.command", c.get("command"))
    _string_list(errs, f"{field}.args", c.get("args"))
    ipp = c.get("imagePullPolicy")
    if ipp is not None and ipp not in PULL_POLICIES:
        errs.add(f"{field}.imagePullPolicy",
                 f"Unsupported value: {ipp!r}: supported values: {', '.join(PULL_POLICIES)}")
    ports = c.get("ports")
    if ports is not None and not isinstance(ports, list):
        errs.add(f"{field}.ports", "must be a list")
        ports = []
    port_names: set[str] = set()
    for i, p in enumerate(ports or []):
        pf = f"{field}.ports[{i}]"
        if not isinstance(p, dict):
            errs.add(pf, "must be an object")
            continue
        _port_number(errs, f"{pf}.containerPort", p.get("containerPort"))
        if p.get("hostPort") not in (None, 0):
            _port_number(errs, f"{pf}.hostPort", p.get("hostPort"))
            key = (p.get("hostPort"), p.get("protocol", "TCP"))
            if key in host_ports:
                errs.add(f"{pf}.hostPort", f"Duplicate value: {p.get('hostPort')}")
            host_ports.add(key)
        if p.get("protocol", "TCP") not in PROTOCOLS:
            errs.add(f"{pf}.protocol",
                     f"Unsupported value: {p.get('protocol')!r}: supported values: TCP, UDP, SCTP")
        pname = p.get("name")
        if pname is not None:
            if not _is_str(pname) or len(pname) > 15 or not _IANA_SVC_NAME.match(pname):
                errs.add(f"{pf}.name", f"Invalid value: {pname!r}: must be an IANA service "
                                       "name (at most 15 lowercase alphanumerics or '-')")
            elif pname in port_names:
                errs.add(f"{pf}.name", f"Duplicate value: {pname!r}")
            port_names.add(pname)
    _env(errs, f"{field}.env", c.get("env"))
    _resources(errs, f"{field}.resources", c.get("resources"))
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(errs, f"{field}.{probe}", c.get(probe))


def _tolerations(errs: Errors, field: str, tols: Any) -> None:
    if tols is None:
        return
    if not isinstance(tols, list):
        errs.add(field, "must be a list")
        return
    for i, t in enumerate(tols):
        f = f"{field}[{i}]"
        if not isinstance(t, dict):
            errs.add(f, "must be an object")
            continue
        op = t.get("operator", "Equal")
        if op not in TOLERATION_OPERATORS:
            errs.add(f"{f}.operator", f"Unsupported value: {op!r}: supported values: Equal, Exists")
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
    if not isinstance(containers, list) or not containers:
        errs.add(f"{field}.containers", REQUIRED)
    else:
        for i, c in enumerate(containers):
            _container(errs, f"{field}.containers[{i}]", c, names, host_ports)
    init = spec.get("initContainers")
    if init is not None:
        if not isinstance(init, list):
            errs.add(f"{field}.initContainers", "must be a list")
        else:
            for i, c in enumerate(init):
                _container(errs, f"{field}.initContainers[{i}]", c, names, set())
    rp = spec.get("restartPolicy")
    if rp not in RESTART_POLICIES:
        errs.add(f"{field}.restartPolicy",
                 f"Unsupported value: {rp!r}: supported values: {', '.join(RESTART_POLICIES)}")
    dp = spec.get("dnsPolicy")
    if dp is not None and dp not in DNS_POLICIES:
        errs.add(f"{field}.dnsPolicy",
                 f"Unsupported value: {dp!r}: supported values: {', '.join(DNS_POLICIES)}")
    _nonneg_int(errs, f"{field}.terminationGracePeriodSeconds",
                spec.get("terminationGracePeriodSeconds"))
    _nonneg_int(errs, f"{field}.activeDeadlineSeconds", spec.get("activeDeadlineSeconds"), 1)
    node_name = spec.get("nodeName")
    if node_name not in (None, "") and (not _is_str(node_name) or dns1123_subdomain(node_name)):
        errs.add(f"{field}.nodeName", f"Invalid value: {node_name!r}: must be a DNS-1123 subdomain")
    sel = spec.get("nodeSelector")
    if sel is not None:
        _labels(errs, f"{field}.nodeSelector", sel)
    _tolerations(errs, f"{field}.tolerations", spec.get("tolerations"))
    volumes = spec.get("volumes")
    if volumes is not None:
        if not isinstance(volumes, list):
            errs.add(f"{field}.volumes", "must be a list")
        else:
            vnames: set[str] = set()
            for i, v in enumerate(volumes):
                vn = v.get("name") if isinstance(v, dict) else None
                if not vn or not _is_str(vn) or dns1123_label(vn):
                    errs.add(f"{field}.volumes[{i}].name", f"Invalid value: {vn!r}: "
                                                           "must be a DNS-1123 label")
                elif vn in vnames:
                    errs.add(f"{field}.volumes[{i}].name", f"Duplicate value: {vn!r}")
                else:
                    vnames.add(vn)


def _pod(errs: Errors, obj: Obj) -> None:
    validate_pod_spec(errs, "spec", obj.get("spec"))


# ---- services, workloads and the rest ------------------------------------


def _service(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    stype = spec.get("type", "ClusterIP")
    if stype not in SERVICE_TYPES:
        errs.add("spec.type", f"Unsupported value: {stype!r}: supported values: "
                              f"{', '.join(SERVICE_TYPES)}")
    ports = spec.get("ports")
    if stype == "ExternalName":
        if not spec.get("externalName"):
            errs.add("spec.externalName", REQUIRED)
    elif not isinstance(ports, list) or not ports:
        errs.add("spec.ports", REQUIRED)
    if ports is not None and not isinstance(ports, list):
        ports = []
    seen: set = set()
    names: set[str] = set()
    for i, p in enumerate(ports or []):
        f = f"spec.ports[{i}]"
        if not isinstance(p, dict):
            errs.add(f, "must be an object")
            continue
        _port_number(errs, f"{f}.port", p.get("port"))
        if p.get("targetPort") is not None:
            _int_or_name_port(errs, f"{f}.targetPort", p.get("targetPort"))
        proto = p.get("protocol", "TCP")
        if proto not in PROTOCOLS:
            errs.add(f"{f}.protocol", f"Unsupported value: {proto!r}: supported values: TCP, UDP, SCTP")
        key = (p.get("port"), proto)
        if key in seen:
            errs.add(f, f"Duplicate value: {{port: {p.get('port')}, protocol: {proto}}}")
        seen.add(key)
        name = p.get("name")
        if len(ports) > 1 and not name:
            errs.add(f"{f}.name", "Required value (ports must be named when there are several)")
        if name:
            if not _is_str(name) or dns1123_label(name):
                errs.add(f"{f}.name", f"Invalid value: {name!r}: must be a DNS-1123 label")
            elif name in names:
                errs.add(f"{f}.name", f"Duplicate value: {name!r}")
            names.add(name)
        np = p.get("nodePort")
        if np is not None:
            if stype not in ("NodePort", "LoadBalancer"):
                errs.add(f"{f}.nodePort", "may not be used when `type` is 'ClusterIP'")
            else:
                _port_number(errs, f"{f}.nodePort", np)
    sel = spec.get("selector")
    if sel is not None:
        _labels(errs, "spec.selector", sel)
    cip = spec.get("clusterIP")
    if cip not in (None, "", "None") and (not _is_str(cip) or not _IPV4.match(cip)):
        errs.add("spec.clusterIP", f"Invalid value: {cip!r}: must be empty, 'None', or a valid IP address")
    if spec.get("sessionAffinity", "None") not in ("None", "ClientIP"):
        errs.add("spec.sessionAffinity", "Unsupported value: supported values: ClientIP, None")


def _label_selector(errs: Errors, field: str, sel: Any, required: bool = True) -> labelsel.Selector:
    if sel is None or sel == {}:
        if required:
            errs.add(field, REQUIRED)
        return ()
    if not isinstance(sel, dict):
        errs.add(field, "must be a label selector object")
        return ()
    _labels(errs, f"{field}.matchLabels", sel.get("matchLabels"))
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        f = f"{field}.matchExpressions[{i}]"
        if not isinstance(expr, dict):
            errs.add(f, "must be an object")
            continue
        op = expr.get("operator")
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            errs.add(f"{f}.operator", f"Unsupported value: {op!r}: supported values: "
                                      "In, NotIn, Exists, DoesNotExist")
        elif op in ("In", "NotIn") and not expr.get("values"):
            errs.add(f"{f}.values", "must be specified when `operator` is 'In' or 'NotIn'")
        elif op in ("Exists", "DoesNotExist") and expr.get("values"):
            errs.add(f"{f}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        if not _is_str(expr.get("key")) or not labelsel.valid_key(expr.get("key")):
            errs.add(f"{f}.key", f"Invalid value: {expr.get('key')!r}: must be a label key")
    if errs:
        return ()
    try:
        parsed = labelsel.from_label_selector(sel)
    except labelsel.SelectorError as e:
        errs.add(field, str(e))
        return ()
    if required and not parsed:
        errs.add(field, "empty selector is invalid for this workload")
    return parsed


def _workload(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        errs.add("spec", REQUIRED)
        return
    _nonneg_int(errs, "spec.replicas", spec.get("replicas"))
    _nonneg_int(errs, "spec.minReadySeconds", spec.get("minReadySeconds"))
    before = len(errs.causes)
    selector = _label_selector(errs, "spec.selector", spec.get("selector"))
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        errs.add("spec.template", REQUIRED)
        return
    tmeta = tmpl.get("metadata") if isinstance(tmpl.get("metadata"), dict) else {}
    _labels(errs, "spec.template.metadata.labels", tmeta.get("labels"))
    if len(errs.causes) == before and selector and not labelsel.matches(selector, tmeta.get("labels")):
        errs.add("spec.template.metadata.labels",
                 "Invalid value: `selector` does not match template `labels`")
    validate_pod_spec(errs, "spec.template.spec", tmpl.get("spec"))
    rp = (tmpl.get("spec") or {}).get("restartPolicy") if isinstance(tmpl.get("spec"), dict) else None
    if rp not in (None, "Always"):
        errs.add("spec.template.spec.restartPolicy", f'Unsupported value: {rp!r}: supported values: "Always"')
    if obj.get("kind") == "Deployment":
        _deployment_extra(errs, spec)


def _int_or_percent(errs: Errors, field: str, value: Any) -> None:
    if _is_int(value):
        if value < 0:
            errs.add(field, f"Invalid value: {value}: must be greater than or equal to 0")
    elif _is_str(value) and re.match(r"^\d+%$", value):
        if int(value[:-1]) > 100:
            errs.add(field, f"Invalid value: {value!r}: must not be greater than 100%")
    else:
        errs.add(field, f"Invalid value: {value!r}: must be an integer or percentage (e.g '5%')")


def _deployment_extra(errs: Errors, spec: Obj) -> None:
    _nonneg_int(errs, "spec.revisionHistoryLimit", spec.get("revisionHistoryLimit"))
    _nonneg_int(errs, "spec.progressDeadlineSeconds", spec.get("progressDeadlineSeconds"), 1)
    strategy = spec.get("strategy") or {}
    if not isinstance(strategy, dict):
        errs.add("spec.strategy", "must be an object")
        return
    stype = strategy.get("type", "RollingUpdate")
    if stype not in ("RollingUpdate", "Recreate"):
        errs.add("spec.strategy.type", f"Unsupported value: {stype!r}: supported values: "
                                       "Recreate, RollingUpdate")
    ru = strategy.get("rollingUpdate")
    if stype == "Recreate" and ru:
        errs.add("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    if stype == "RollingUpdate" and isinstance(ru, dict):
        surge, unavail = ru.get("maxSurge", "25%"), ru.get("maxUnavailable", "25%")
        _int_or_percent(errs, "spec.strategy.rollingUpdate.maxSurge", surge)
        _int_or_percent(errs, "spec.strategy.rollingUpdate.maxUnavailable", unavail)
        if surge in (0, "0%") and unavail in (0, "0%"):
            errs.add("spec.strategy.rollingUpdate.maxUnavailable",
                     "may not be 0 when `maxSurge` is 0")


def _string_map(errs: Errors, field: str, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errs.add(field, "must be a map of string keys to string values")
        return
    for k, v in value.items():
        if not _CONFIG_KEY.match(k) or len(k) > 253:
            errs.add(f"{field}[{k}]", "a valid config key must consist of alphanumeric "
                                      "characters, '-', '_' or '.'")
        if not _is_str(v):
            errs.add(f"{field}[{k}]", "must be a string")


def _config_map(errs: Errors, obj: Obj) -> None:
    _string_map(errs, "data", obj.get("data"))
    _string_map(errs, "binaryData", obj.get("binaryData"))


def _secret(errs: Errors, obj: Obj) -> None:
    _string_map(errs, "data", obj.get("data"))
    _string_map(errs, "stringData", obj.get("stringData"))
    if not _is_str(obj.get("type", "Opaque")):
        errs.add("type", "must be a string")


def _node(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec")
    if spec is None:
        return
    if not isinstance(spec, dict):
        errs.add("spec", "must be an object")
        return
    for i, t in enumerate(spec.get("taints") or []):
        f = f"spec.taints[{i}]"
        if not isinstance(t, dict) or not t.get("key"):
            errs.add(f"{f}.key", REQUIRED)
            continue
        if t.get("effect") not in TAINT_EFFECTS:
            errs.add(f"{f}.effect", f"Unsupported value: {t.get('effect')!r}: supported values: "
                                    f"{', '.join(TAINT_EFFECTS)}")
    if spec.get("unschedulable") not in (None, True, False):
        errs.add("spec.unschedulable", "must be a boolean")


def _endpoints(errs: Errors, obj: Obj) -> None:
    subsets = obj.get("subsets")
    if subsets is None:
        return
    if not isinstance(subsets, list):
        errs.add("subsets", "must be a list")
        return
    for i, s in enumerate(subsets):
        if not isinstance(s, dict):
            errs.add(f"subsets[{i}]", "must be an object")
            continue
        for section in ("addresses", "notReadyAddresses"):
            for j, a in enumerate(s.get(section) or []):
                ip = a.get("ip") if isinstance(a, dict) else None
                if not _is_str(ip) or not _IPV4.match(ip):
                    errs.add(f"subsets[{i}].{section}[{j}].ip", f"Invalid value: {ip!r}: "
                                                                "must be a valid IP address")
        for j, p in enumerate(s.get("ports") or []):
            _port_number(errs, f"subsets[{i}].ports[{j}].port",
                         p.get("port") if isinstance(p, dict) else None)


def _event(errs: Errors, obj: Obj) -> None:
    inv = obj.get("involvedObject")
    if not isinstance(inv, dict):
        errs.add("involvedObject", REQUIRED)
    if obj.get("type") not in ("Normal", "Warning"):
        errs.add("type", f"Unsupported value: {obj.get('type')!r}: supported values: Normal, Warning")


def _lease(errs: Errors, obj: Obj) -> None:
    spec = obj.get("spec") or {}
    if not isinstance(spec, dict):
        errs.add("spec", "must be an object")
        return
    _nonneg_int(errs, "spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"), 1)
    _nonneg_int(errs, "spec.leaseTransitions", spec.get("leaseTransitions"))


_BY_KIND: dict[str, Callable[[Errors, Obj], None]] = {
    "Pod": _pod,
    "Service": _service,
    "ReplicaSet": _workload,
    "Deployment": _workload,
    "ConfigMap": _config_map,
    "Secret": _secret,
    "Node": _node,
    "Endpoints": _endpoints,
    "Event": _event,
    "Lease": _lease,
}

_CLUSTER_SCOPED = ("Namespace", "Node")


def errors_of(obj: Obj) -> list[tuple[str, str]]:
    """All (field, message) problems of ``obj``; empty when it is valid."""
    errs = Errors()
    if not isinstance(obj, dict):
        return [("", "must be an object")]
    kind = str(obj.get("kind", ""))
    validate_metadata(errs, obj, kind, kind not in _CLUSTER_SCOPED)
    fn = _BY_KIND.get(kind)
    if fn is not None:
        fn(errs, obj)
    return errs.causes


def _raise(obj: Obj, causes: list[tuple[str, str]]) -> None:
    if causes:
        name = obj.get("metadata", {}).get("name", "") if isinstance(obj.get("metadata"), dict) else ""
        raise Invalid.fields(str(obj.get("kind", "")), str(name or ""), causes)


def validate(obj: Obj) -> None:
    """Raise ``Invalid`` naming every bad field of ``obj``."""
    _raise(obj, errors_of(obj))


# ---- updates ---------------------------------------------------------------

# Pod spec fields that may change after creation (Kubernetes allows image,
# activeDeadlineSeconds and tolerations additions; everything else is fixed).
_MUTABLE_POD_FIELDS = ("activeDeadlineSeconds", "tolerations")


def _pod_update(errs: Errors, old: Obj, new: Obj) -> None:
    os_, ns_ = old.get("spec") or {}, new.get("spec") or {}
    if not isinstance(os_, dict) or not isinstance(ns_, dict):
        return
    masked_old = {k: v for k, v in os_.items() if k not in _MUTABLE_POD_FIELDS}
    masked_new = {k: v for k, v in ns_.items() if k not in _MUTABLE_POD_FIELDS}
    for key in ("containers", "initContainers"):
        oc, nc = masked_old.get(key), masked_new.get(key)
        if isinstance(oc, list) and isinstance(nc, list) and len(oc) == len(nc):
            masked_old[key] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                               for c in oc]
            masked_new[key] = [{k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                               for c in nc]
    # nodeName may be set once (binding), never changed.
    if not os_.get("nodeName"):
        masked_old.pop("nodeName", None)
        masked_new.pop("nodeName", None)
    if masked_old != masked_new:
        changed = sorted(k for k in set(masked_old) | set(masked_new)
                         if masked_old.get(k) != masked_new.get(k))
        errs.add(f"spec.{changed[0]}" if changed else "spec",
                 "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
                 "`spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing "
                 "tolerations)")
    old_tols = os_.get("tolerations") or []
    new_tols = ns_.get("tolerations") or []
    if (isinstance(old_tols, list) and isinstance(new_tols, list)
            and any(t not in new_tols for t in old_tols)):
        errs.add("spec.tolerations", "Forbidden: existing toleration can not be modified or removed")
    old_ad, new_ad = os_.get("activeDeadlineSeconds"), ns_.get("activeDeadlineSeconds")
    if old_ad is not None and (new_ad is None or (_is_int(new_ad) and new_ad > old_ad)):
        errs.add("spec.activeDeadlineSeconds",
                 "Forbidden: must be less than or equal to the previous value and may not be unset")


def _service_update(errs: Errors, old: Obj, new: Obj) -> None:
    oip = (old.get("spec") or {}).get("clusterIP")
    nip = (new.get("spec") or {}).get("clusterIP") if isinstance(new.get("spec"), dict) else None
    if oip and nip != oip:
        errs.add("spec.clusterIP", "Invalid value: field is immutable")


def _workload_update(errs: Errors, old: Obj, new: Obj) -> None:
    osel = (old.get("spec") or {}).get("selector")
    nsel = (new.get("spec") or {}).get("selector") if isinstance(new.get("spec"), dict) else None
    if osel != nsel:
        errs.add("spec.selector", "Invalid value: field is immutable")


def _node_update(errs: Errors, old: Obj, new: Obj) -> None:
    ocidr = (old.get("spec") or {}).get("podCIDR")
    ncidr = (new.get("spec") or {}).get("podCIDR") if isinstance(new.get("spec"), dict) else None
    if ocidr and ncidr != ocidr:
        errs.add("spec.podCIDR", "Forbidden: podCIDR cannot be changed once set")


_UPDATE_BY_KIND: dict[str, Callable[[Errors, Obj, Obj], None]] = {
    "Node": _node_update,
    "Pod": _pod_update,
    "Service": _service_update,
    "Deployment": _workload_update,
    "ReplicaSet": _workload_update,
}


def validate_update(old: Obj, new: Obj) -> None:
    """Validate ``new`` and the rules about what may change from ``old``."""
    causes = errors_of(new)
    errs = Errors()
    fn = _UPDATE_BY_KIND.get(str(new.get("kind", "")))
    if fn is not None:
        fn(errs, old, new)
    _raise(new, causes + errs.causes)
