"""Building blocks of validation: the error collector, name and label formats, and
field checks shared by several kinds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, TypeGuard

from .. import labels as labelsel

Obj = dict[str, Any]

_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
IANA_SVC_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
IPV4 = re.compile(r"^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$")
RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# The ranges of Kubernetes' integer fields (Go's int32 and int64).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

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


def is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_str(v: Any) -> TypeGuard[str]:
    return isinstance(v, str)


def _name_format(value: str, limit: int, pattern: re.Pattern[str], message: str) -> str | None:
    if len(value) > limit:
        return f"must be no more than {limit} characters"
    return None if pattern.match(value) else message


def dns1123_label(value: str) -> str | None:
    return _name_format(value, 63, _DNS1123_LABEL,
                        "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                        "characters or '-', and must start and end with an alphanumeric character")


def dns1123_subdomain(value: str) -> str | None:
    return _name_format(value, 253, _DNS1123_SUBDOMAIN,
                        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                        "characters, '-' or '.', and must start and end with an alphanumeric "
                        "character")


def dns1035_label(value: str) -> str | None:
    return _name_format(value, 63, _DNS1035_LABEL,
                        "a DNS-1035 label must consist of lower case alphanumeric characters or "
                        "'-', start with an alphabetic character, and end with an alphanumeric "
                        "character")


def one_of(errs: Errors, field: str, value: Any, allowed: tuple[str, ...]) -> bool:
    """Whether ``value`` is one of ``allowed``; if not, says so (in order)."""
    if value in allowed:
        return True
    errs.add(field, f"Unsupported value: {value!r}: supported values: {', '.join(allowed)}")
    return False


def object_list(errs: Errors, field: str, value: Any) -> Iterator[tuple[str, Obj]]:
    """(field path, item) for each object in an optional list; a value that is
    not a list, or an item that is not an object, is reported and skipped."""
    if value is None:
        return
    if not isinstance(value, list):
        errs.add(field, "must be a list")
        return
    for i, item in enumerate(value):
        if isinstance(item, dict):
            yield f"{field}[{i}]", item
        else:
            errs.add(f"{field}[{i}]", "must be an object")


def _string_map(errs: Errors, field: str, value: Any) -> dict[Any, Any]:
    """An optional map with string values, as a dict ({} when absent or not a map:
    that is reported)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        errs.add(field, "must be a map of string keys to string values")
        return {}
    return value


def label_map(errs: Errors, field: str, value: Any) -> None:
    for k, v in _string_map(errs, field, value).items():
        if not labelsel.valid_key(k):
            errs.add(f"{field}[{k}]", "invalid label key: name part must consist of alphanumeric "
                                       "characters, '-', '_' or '.', and must start and end with "
                                       "an alphanumeric character (63 characters at most), with "
                                       "an optional DNS subdomain prefix and '/'")
        if not is_str(v) or not labelsel.valid_value(v):
            errs.add(f"{field}[{k}]", f"invalid label value {v!r}: must be 63 characters or "
                                       "less, empty or beginning and ending with an alphanumeric "
                                       "character, with '-', '_', '.' and alphanumerics between")


def annotation_map(errs: Errors, field: str, value: Any) -> None:
    total = 0
    for k, v in _string_map(errs, field, value).items():
        if not labelsel.valid_key(k):
            errs.add(f"{field}[{k}]", "invalid annotation key")
        if not is_str(v):
            errs.add(f"{field}[{k}]", "annotation values must be strings")
        else:
            total += len(k) + len(v)
    if total > 256 * 1024:
        errs.add(field, "annotations are too long: must have at most 262144 bytes")


def port_number(errs: Errors, field: str, value: Any, required: bool = True) -> None:
    if value is None:
        if required:
            errs.add(field, REQUIRED)
        return
    if not is_int(value) or not 1 <= value <= 65535:
        errs.add(field, f"Invalid value: {value!r}: must be between 1 and 65535, inclusive")


def int_or_name_port(errs: Errors, field: str, value: Any) -> None:
    if is_str(value):
        if value.isdigit():
            port_number(errs, field, int(value))
        elif not value or len(value) > 15 or not IANA_SVC_NAME.match(value):
            errs.add(field, f"Invalid value: {value!r}: must be a port number or an IANA "
                            "service name (at most 15 lowercase alphanumerics or '-')")
    else:
        port_number(errs, field, value)


def nonneg_int(errs: Errors, field: str, value: Any, minimum: int = 0,
               maximum: int = INT32_MAX) -> None:
    """An optional integer in ``[minimum, maximum]`` (an int32 unless told)."""
    if value is None:
        return
    if not is_int(value) or value < minimum:
        errs.add(field, f"Invalid value: {value!r}: must be an integer >= {minimum}")
    elif value > maximum:
        errs.add(field, f"Invalid value: {value!r}: must be less than or equal to {maximum}")


def string_list(errs: Errors, field: str, value: Any) -> None:
    if value is not None and (not isinstance(value, list) or not all(is_str(v) for v in value)):
        errs.add(field, "must be a list of strings")


def string_map(errs: Errors, field: str, value: Any) -> None:
    for k, v in _string_map(errs, field, value).items():
        if not CONFIG_KEY.match(k) or len(k) > 253:
            errs.add(f"{field}[{k}]", "a valid config key must consist of alphanumeric "
                                      "characters, '-', '_' or '.'")
        if not is_str(v):
            errs.add(f"{field}[{k}]", "must be a string")


def label_selector(errs: Errors, field: str, sel: Any, required: bool = True) -> labelsel.Selector:
    if sel is None or sel == {}:
        if required:
            errs.add(field, REQUIRED)
        return ()
    if not isinstance(sel, dict):
        errs.add(field, "must be a label selector object")
        return ()
    label_map(errs, f"{field}.matchLabels", sel.get("matchLabels"))
    for i, expr in enumerate(sel.get("matchExpressions") or []):
        f = f"{field}.matchExpressions[{i}]"
        if not isinstance(expr, dict):
            errs.add(f, "must be an object")
            continue
        op = expr.get("operator")
        if one_of(errs, f"{f}.operator", op, SELECTOR_OPERATORS):
            if op in ("In", "NotIn") and not expr.get("values"):
                errs.add(f"{f}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            elif op in ("Exists", "DoesNotExist") and expr.get("values"):
                errs.add(f"{f}.values",
                         "may not be specified when `operator` is 'Exists' or 'DoesNotExist'")
        key = expr.get("key")
        if not is_str(key) or not labelsel.valid_key(key):
            errs.add(f"{f}.key", f"Invalid value: {key!r}: must be a label key")
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


def int_or_percent(errs: Errors, field: str, value: Any) -> None:
    if is_int(value):
        if value < 0:
            errs.add(field, f"Invalid value: {value}: must be greater than or equal to 0")
        elif value > INT32_MAX:
            errs.add(field, f"Invalid value: {value}: must be less than or equal to {INT32_MAX}")
    elif is_str(value) and re.match(r"^\d+%$", value):
        if int(value[:-1]) > 100:
            errs.add(field, f"Invalid value: {value!r}: must not be greater than 100%")
    else:
        errs.add(field, f"Invalid value: {value!r}: must be an integer or percentage (e.g '5%')")
