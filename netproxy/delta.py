"""The difference between two plans, as the edits that turn one table into
the other (pure; ``netproxy.table`` sends them as one transaction).

A full replace rewrites every object of the table; with thousands of
services that is most of a sync's cost, while an Endpoints change touches a
handful of chains and map elements. ``diff`` returns those edits, in an
order the kernel accepts inside one batch:

1. flush the rules of chains that change or go away (dropping their
   references to other chains and maps),
2. delete map/set elements that go away or change target,
3. delete chains that go away (nothing refers to them any more),
4. add new chains, 5. add new elements, 6. add the rules of new and changed
   chains.

It returns None when only a full replace will do: a base (hooked) chain or
the set of maps differs, or the table's name or family changed.

``from_change`` finds the same edits from a ``Planner``'s ``Change`` (the
parts of the Services that changed), without walking the whole plans: with
thousands of Services that walk costs more than the kernel's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .plan import (
    NO_ENDPOINT_NODEPORTS,
    NO_ENDPOINT_SERVICES,
    SERVICE_IPS,
    SERVICE_NODEPORTS,
    AddrSet,
    Chain,
    Change,
    Plan,
    VerdictMap,
    _Fragment,
)

Elements = dict[str, tuple]  # map/set name -> elements (as in the plan)


@dataclass(frozen=True)
class Delta:
    flush_chains: tuple[str, ...]
    del_elements: tuple[VerdictMap | AddrSet, ...]  # same name/key as in the plan, fewer elements
    del_chains: tuple[str, ...]
    add_chains: tuple[Chain, ...]
    add_elements: tuple[VerdictMap | AddrSet, ...]
    add_rules: tuple[Chain, ...]  # chains whose rules are (re)added, in full

    def empty(self) -> bool:
        return not (self.flush_chains or self.del_elements or self.del_chains or self.add_chains
                    or self.add_elements or self.add_rules)

    def size(self) -> int:
        """Roughly how many objects the edit writes."""
        return (len(self.flush_chains) + len(self.del_chains) + len(self.add_chains)
                + sum(len(c.rules) for c in self.add_rules)
                + sum(len(s.elements) for s in (*self.del_elements, *self.add_elements)))


def _containers(plan: Plan) -> dict[str, VerdictMap | AddrSet]:
    containers: tuple[VerdictMap | AddrSet, ...] = (*plan.sets, *plan.maps)
    return {c.name: c for c in containers}


def _shape(obj: VerdictMap | AddrSet) -> tuple:
    return (type(obj), obj.name, obj.key)


def _only_in(a: tuple, b: tuple) -> list:
    """The items of ``a`` that are not the very objects in ``b``, in ``a``'s order.

    Plans from one ``Planner`` share every unchanged chain and element, so
    this finds the few candidates for a change with set operations on ids
    (no Python-level loop over thousands of items); the callers then compare
    the candidates by value."""
    ids = dict(zip(map(id, a), range(len(a)), strict=True))
    only = ids.keys() - set(map(id, b))
    return [a[i] for i in sorted(ids[k] for k in only)]


def diff(old: Plan, new: Plan) -> Delta | None:
    if (old.table, old.family) != (new.table, new.family):
        return None
    old_sets, new_sets = _containers(old), _containers(new)
    if {n: _shape(s) for n, s in old_sets.items()} != {n: _shape(s) for n, s in new_sets.items()}:
        return None
    old_only, new_only = _only_in(old.chains, new.chains), _only_in(new.chains, old.chains)
    # A chain of one plan that the other shares is the very same object, so
    # the other plan's chain of the same name, if any, is in its own list.
    old_names = {c.name: c for c in old_only}
    new_names = {c.name: c for c in new_only}
    for c in (*old_only, *new_only):  # only chains not shared can differ
        a, b = old_names.get(c.name), new_names.get(c.name)
        if ((a is not None and a.hook) or (b is not None and b.hook)) and a != b:
            return None

    removed = [c.name for c in old_only if c.name not in new_names]
    changed = [c.name for c in old_only
               if c.name in new_names and new_names[c.name].rules != c.rules]
    added = [c for c in new_only if c.name not in old_names]

    del_elements, add_elements = [], []
    for name, new_set in new_sets.items():
        before, after = old_sets[name].elements, new_set.elements
        gone_ids, come_ids = _only_in(before, after), _only_in(after, before)
        gone_set, come_set = set(gone_ids), set(come_ids)  # equal values are no change
        gone = [e for e in gone_ids if e not in come_set]
        come = [e for e in come_ids if e not in gone_set]
        if gone:
            del_elements.append(_with(new_set, gone))
        if come:
            add_elements.append(_with(new_set, come))

    return Delta(
        flush_chains=tuple(sorted(removed + changed)),
        del_elements=tuple(del_elements),
        del_chains=tuple(sorted(removed)),
        add_chains=tuple(added),
        add_elements=tuple(add_elements),
        add_rules=tuple([c for c in added if c.rules]
                        + [new_names[n] for n in sorted(changed) if new_names[n].rules]),
    )


def _with(obj: VerdictMap | AddrSet, elements: list) -> VerdictMap | AddrSet:
    if isinstance(obj, VerdictMap):
        return VerdictMap(obj.name, obj.key, tuple(elements))
    return AddrSet(obj.name, tuple(elements), obj.key)


def _parts(fragments: Iterable[_Fragment]) -> tuple[dict[str, Chain], dict[str, list]]:
    """The chains (by name) and map elements (by map) of Services' parts, as
    ``Planner._assemble`` puts them in a table where no port claim clashes."""
    chains: dict[str, Chain] = {}
    elements: dict[str, list] = {SERVICE_IPS: [], SERVICE_NODEPORTS: [],
                                 NO_ENDPOINT_SERVICES: [], NO_ENDPOINT_NODEPORTS: []}
    for frag in fragments:
        for part in frag.parts:
            if not part.chains:
                if part.vip_elem:
                    elements[NO_ENDPOINT_SERVICES].append(part.vip_elem)
                if part.np_elem:
                    elements[NO_ENDPOINT_NODEPORTS].append(part.np_elem)
                continue
            chains.update((c.name, c) for c in part.chains)
            if part.vip_elem:
                elements[SERVICE_IPS].append(part.vip_elem)
            if part.np_elem and part.ext is not None:
                chains[part.ext.name] = part.ext
                elements[SERVICE_NODEPORTS].append(part.np_elem)
    return chains, elements


def from_change(change: Change, new: Plan) -> Delta | None:
    """The edits from ``change.previous`` to ``new`` (the plan the change
    led to); None if a full replace or ``diff`` is needed."""
    old = change.previous
    if (old.table, old.family) != (new.table, new.family):
        return None
    old_chains, old_elements = _parts(change.before)
    new_chains, new_elements = _parts(change.after)
    removed = sorted(n for n in old_chains if n not in new_chains)
    changed = sorted(n for n, c in old_chains.items()
                     if n in new_chains and new_chains[n].rules != c.rules)
    added = [c for n, c in new_chains.items() if n not in old_chains]

    del_elements, add_elements = [], []
    maps = _containers(new)
    for name, before in old_elements.items():
        after = new_elements[name]
        before_set, after_set = set(before), set(after)
        gone = [e for e in before if e not in after_set]
        come = [e for e in after if e not in before_set]
        if gone:
            del_elements.append(_with(maps[name], gone))
        if come:
            add_elements.append(_with(maps[name], come))
    before_ips, after_ips = _containers(old), maps
    for name, obj in after_ips.items():
        if isinstance(obj, AddrSet):
            was = set(before_ips[name].elements)
            now = set(obj.elements)
            if was - now:
                del_elements.append(_with(obj, [e for e in before_ips[name].elements
                                                if e not in now]))
            if now - was:
                add_elements.append(_with(obj, [e for e in obj.elements if e not in was]))
    return Delta(
        flush_chains=tuple(sorted(removed + changed)),
        del_elements=tuple(del_elements),
        del_chains=tuple(removed),
        add_chains=tuple(added),
        add_elements=tuple(add_elements),
        add_rules=tuple([c for c in added if c.rules]
                        + [new_chains[n] for n in changed if new_chains[n].rules]),
    )
