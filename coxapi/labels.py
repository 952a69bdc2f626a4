"""Label selectors: the string form (``app=web,tier!=db,env in (a,b),!x``)
and the structured form (``matchLabels`` + ``matchExpressions``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_KEY = re.compile(r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


class SelectorError(ValueError):
    pass


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        # "!=" and "notin" match when the key is absent, as in Kubernetes.
        return not present or labels[self.key] not in self.values


Selector = tuple[Requirement, ...]


def valid_key(key: str) -> bool:
    return len(key) <= 317 and bool(_KEY.match(key))


def valid_value(value: str) -> bool:
    return len(value) <= 63 and bool(_VALUE.match(value))


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")


def parse_selector(text: str | None) -> Selector:
    """Parse ``app=web,tier!=db,env in (a,b),x,!y``; raises SelectorError."""
    if not text:
        return ()
    reqs: list[Requirement] = []
    for part in _split_top(text):
        m = _SET_RE.match(part)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            req = Requirement(m.group(1), m.group(2), values)
        elif "!=" in part:
            k, v = part.split("!=", 1)
            req = Requirement(k.strip(), "!=", (v.strip(),))
        elif "==" in part:
            k, v = part.split("==", 1)
            req = Requirement(k.strip(), "=", (v.strip(),))
        elif "=" in part:
            k, v = part.split("=", 1)
            req = Requirement(k.strip(), "=", (v.strip(),))
        elif part.startswith("!"):
            req = Requirement(part[1:].strip(), "!")
        else:
            req = Requirement(part, "exists")
        if not valid_key(req.key):
            raise SelectorError(f"invalid label key {req.key!r} in selector {text!r}")
        for v in req.values:
            if not valid_value(v):
                raise SelectorError(f"invalid label value {v!r} in selector {text!r}")
        reqs.append(req)
    return tuple(reqs)


def from_label_selector(sel: Mapping | None) -> Selector:
    """Structured ``LabelSelector`` (matchLabels/matchExpressions) to requirements."""
    if not sel:
        return ()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (sel.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for expr in sel.get("matchExpressions") or []:
        op = ops.get(expr.get("operator", ""))
        if op is None:
            raise SelectorError(f"unknown selector operator {expr.get('operator')!r}")
        reqs.append(Requirement(expr.get("key", ""), op, tuple(expr.get("values") or ())))
    return tuple(reqs)


def from_map(labels: Mapping[str, str] | None) -> Selector:
    """A Service-style selector: every pair must match."""
    return tuple(Requirement(k, "=", (str(v),)) for k, v in (labels or {}).items())


def matches(selector: Selector, labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in selector)


def to_string(selector: Selector) -> str:
    out = []
    for r in selector:
        if r.op in ("=", "!="):
            out.append(f"{r.key}{r.op}{r.values[0]}")
        elif r.op in ("in", "notin"):
            out.append(f"{r.key} {r.op} ({','.join(r.values)})")
        elif r.op == "exists":
            out.append(r.key)
        else:
            out.append(f"!{r.key}")
    return ",".join(out)
