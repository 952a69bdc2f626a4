"""Parsing of command arguments: kind names, ``KIND/NAME`` targets and durations. Pure."""

from __future__ import annotations

import re

from coxapi.kinds import Kind, UnknownKind, lookup

from ..errors import UsageFailure


def resolve_kind(name: str) -> Kind:
    """A kind from any kubectl spelling: ``po``, ``pods``, ``Pod``, ``deployment.apps``,
    ``deployments.apps``; raises ``UnknownKind`` (kubectl's message)."""
    try:
        return lookup(name)
    except UnknownKind:
        base, _, group = name.partition(".")
        if group:
            try:
                kind = lookup(base)
            except UnknownKind:
                pass
            else:
                if kind.group == group.lower():
                    return kind
        raise UnknownKind(name) from None


def parse_targets(args: tuple[str, ...] | list[str]) -> list[tuple[Kind, list[str]]]:
    """``KIND[,KIND] [NAME...]`` or ``KIND/NAME...`` into (kind, names) pairs, in order.

    An empty name list means "all of this kind".
    """
    if not args:
        raise UsageFailure("you must specify the type of resource (e.g. pods, deployments)")
    if "/" in args[0]:
        out: list[tuple[Kind, list[str]]] = []
        for arg in args:
            kind_name, sep, name = arg.partition("/")
            if not sep or not kind_name or not name:
                raise UsageFailure(f'there is no need to specify a resource type as a separate '
                                   f'argument when passing arguments in resource/name form '
                                   f'(got "{arg}")')
            kind = resolve_kind(kind_name)
            for k, names in out:
                if k == kind:
                    names.append(name)
                    break
            else:
                out.append((kind, [name]))
        return out
    kinds = [resolve_kind(k) for k in args[0].split(",") if k]
    if not kinds:
        raise UsageFailure("you must specify the type of resource")
    names = list(args[1:])
    for n in names:
        if "/" in n:
            raise UsageFailure(f'arguments in resource/name form must have a single resource '
                               f'and name (got "{n}" after a resource type)')
    return [(k, list(names)) for k in kinds]


def parse_single(args: tuple[str, ...] | list[str], what: str = "resource") -> tuple[Kind, str]:
    """Exactly one object: ``KIND/NAME`` or ``KIND NAME``."""
    targets = parse_targets(args)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise UsageFailure(f"expected exactly one {what}: KIND/NAME or KIND NAME")
    return targets[0][0], targets[0][1][0]


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go-style durations as kubectl takes them: ``30s``, ``5m``, ``1h30m``, ``0``; a bare
    number is seconds. Returns seconds (0 = no limit)."""
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        value = float(m.group(1))
        total += value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise UsageFailure(f'invalid duration "{text}" (use e.g. 30s, 5m, 1h)')
    return total
