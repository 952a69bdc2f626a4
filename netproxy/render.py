"""Print a ``Plan`` in nft syntax (for ``--dry-run``, logs and tests).

The text is close to what ``nft -f`` accepts; the kernel table itself is
written by ``netproxy.nftables`` over netlink, never from this text.
"""

from __future__ import annotations

from .plan import (
    Accept,
    AddrSet,
    Chain,
    ClearMark,
    Counter,
    Dnat,
    Drop,
    Goto,
    Jump,
    Masquerade,
    MatchCtNew,
    MatchDaddrIn,
    MatchDaddrNet,
    MatchIfname,
    MatchMark,
    MatchNfprotoIpv4,
    MatchProto,
    MatchSaddr,
    NumgenIs,
    Plan,
    Reject,
    SetMark,
    Statement,
    VerdictMap,
    Vmap,
)


def _q(name: str) -> str:
    return f'"{name}"' if not name.replace("-", "").replace("_", "").isalnum() else name


def statement(st: Statement) -> str:
    match st:
        case MatchProto(proto):
            return f"meta l4proto {proto}"
        case MatchSaddr(ip):
            return f"ip saddr {ip}"
        case MatchDaddrIn(name):
            return f"ip daddr @{_q(name)}"
        case MatchCtNew():
            return "ct state new"
        case MatchMark(mask):
            return f"meta mark & {mask:#x} != 0"
        case SetMark(mask):
            return f"meta mark set meta mark | {mask:#x}"
        case ClearMark(mask):
            return f"meta mark set meta mark ^ {mask:#x}"
        case Vmap(fields, name):
            return f"{' . '.join(fields)} vmap @{_q(name)}"
        case NumgenIs(modulus, value):
            return f"numgen random mod {modulus} == {value}"
        case Dnat(ip, port):
            return f"dnat to {ip}:{port}"
        case Masquerade():
            return "masquerade"
        case Reject(tcp_reset):
            return "reject with tcp reset" if tcp_reset else "reject"
        case MatchIfname(name, out):
            return f'{"oifname" if out else "iifname"} "{name}"'
        case MatchNfprotoIpv4():
            return "meta nfproto ipv4"
        case MatchDaddrNet(cidr):
            return f"ip daddr {cidr}"
        case Counter():
            return "counter"
        case Accept():
            return "accept"
        case Drop():
            return "drop"
        case Jump(chain):
            return f"jump {_q(chain)}"
        case Goto(chain):
            return f"goto {_q(chain)}"
    raise TypeError(f"unknown statement {st!r}")


def _chain(c: Chain) -> list[str]:
    out = [f"\tchain {_q(c.name)} {{"]
    if c.hook:
        device = f' device "{c.hook.device}"' if c.hook.device is not None else ""
        out.append(f"\t\ttype {c.hook.type} hook {c.hook.hook}{device} "
                   f"priority {c.hook.priority}; policy accept;")
    out += ["\t\t" + " ".join(statement(s) for s in rule) for rule in c.rules]
    out.append("\t}")
    return out


def _value(v: str | int) -> str:
    return str(v)


def _map(m: VerdictMap) -> list[str]:
    out = [f"\tmap {_q(m.name)} {{", f"\t\ttype {' . '.join(m.key)} : verdict"]
    if m.elements:
        elems = ", ".join(f"{' . '.join(_value(v) for v in k)} : goto {_q(c)}"
                          for k, c in m.elements)
        out.append(f"\t\telements = {{ {elems} }}")
    out.append("\t}")
    return out


def _set(s: AddrSet) -> list[str]:
    out = [f"\tset {_q(s.name)} {{", f"\t\ttype {' . '.join(s.key)}"]
    if s.elements:
        out.append(f"\t\telements = {{ {', '.join(s.elements)} }}")
    out.append("\t}")
    return out


def render(plan: Plan) -> str:
    lines = [f"table {plan.family} {plan.table} {{"]
    for s in plan.sets:
        lines += _set(s)
    for m in plan.maps:
        lines += _map(m)
    for c in plan.chains:
        lines += _chain(c)
    lines.append("}")
    return "\n".join(lines)
