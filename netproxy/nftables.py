"""Encode a ``Plan`` as nf_tables netlink messages (``netproxy.table`` sends them).

The expressions are the ones ``nft --debug=netlink`` shows for the
equivalent nft rules; attribute numbers come from pyroute2's nf_tables
definitions and the bytes are packed by ``netproxy.nlattr`` (the unit tests
check them against pyroute2's own encoder). Encoded messages are cached per
plan object (the plan's objects are frozen and hashable), so a re-sync after
a small change only encodes what changed.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator

from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE
from pyroute2.netlink.nfnetlink.nftsocket import (
    DATA_TYPE_INET_PROTOCOL,
    DATA_TYPE_INET_SERVICE,
    DATA_TYPE_INTEGER,
    DATA_TYPE_IPADDR,
    NFPROTO_INET,
    NFPROTO_IPV4,
    NFT_MSG_DELCHAIN,
    NFT_MSG_DELRULE,
    NFT_MSG_DELSETELEM,
    NFT_MSG_NEWCHAIN,
    NFT_MSG_NEWRULE,
    NFT_MSG_NEWSET,
    NFT_MSG_NEWSETELEM,
    NFT_MSG_NEWTABLE,
)

from .delta import Delta
from .nlattr import LIST_ELEM, attr, be32, be64, message, nest, string, u8
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
    Rule,
    SetMark,
    Statement,
    VerdictMap,
    Vmap,
)

FAMILIES = {"ip": NFPROTO_IPV4, "inet": NFPROTO_INET}
# ingress: NF_INET_INGRESS, a hook of inet tables only (bound to one device)
HOOKS = {"prerouting": 0, "input": 1, "forward": 2, "output": 3, "postrouting": 4, "ingress": 5}
IPPROTO = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
NF_DROP = 0
NF_ACCEPT = 1
NFT_JUMP = -3
NFT_GOTO = -4
NFT_DATA_VERDICT = 0xFFFFFF00
NFT_META_MARK = 3
NFT_CT_STATE = 0
IP_CT_NEW_BIT = 0x8  # NF_CT_STATE_BIT(IP_CT_NEW)
NFT_META_IIFNAME = 6
NFT_META_OIFNAME = 7
NFT_META_NFPROTO = 15
NFT_META_L4PROTO = 16
NFT_PAYLOAD_NETWORK = 1
NFT_PAYLOAD_TRANSPORT = 2
NFT_REG_VERDICT = 0
NFT_REG_1 = 1
NFT_REG_2 = 2
NFT_REG32_00 = 8
NFT_CMP_EQ = 0
NFT_CMP_NEQ = 1
IFNAMSIZ = 16  # nft compares interface names as the whole zero-padded array
NFT_NG_RANDOM = 1
NFT_NAT_DNAT = 1
NF_NAT_RANGE_PROTO_SPECIFIED = 0x2
NFT_SET_MAP = 0x8
NFT_REJECT_ICMP_UNREACH = 0
NFT_REJECT_TCP_RST = 1
ICMP_PORT_UNREACH = 3
TYPE_BITS = 6  # nft's concatenated type id: each part shifted by this

# nft type name -> (type id, bytes in a key, bytes in a register slot)
KEY_TYPES = {
    "ipv4_addr": (DATA_TYPE_IPADDR, 4),
    "inet_proto": (DATA_TYPE_INET_PROTOCOL, 1),
    "inet_service": (DATA_TYPE_INET_SERVICE, 2),
    "integer": (DATA_TYPE_INTEGER, 4),
}
# packet field -> (loader expression factory args, size in bytes)
FIELDS = {
    "ip saddr": ("payload", NFT_PAYLOAD_NETWORK, 12, 4),
    "ip daddr": ("payload", NFT_PAYLOAD_NETWORK, 16, 4),
    "th dport": ("payload", NFT_PAYLOAD_TRANSPORT, 2, 2),
    "meta l4proto": ("meta", NFT_META_L4PROTO, 0, 1),
}
ELEMENTS_PER_MESSAGE = 200  # a netlink attribute is at most 64 KiB


# ---- expressions --------------------------------------------------------------------

def _expr(name: str, *attrs: bytes) -> bytes:
    parts = [string("NFTA_EXPR_NAME", name)]
    if attrs:
        parts.append(nest("NFTA_EXPR_DATA", *attrs))
    return nest(LIST_ELEM, *parts)


def _data(name: str, value: bytes) -> bytes:
    return nest(name, attr("NFTA_DATA_VALUE", value))


def _verdict(name: str, code: int, chain: str | None = None) -> bytes:
    v = [be32("NFTA_VERDICT_CODE", code)]
    if chain is not None:
        v.append(string("NFTA_VERDICT_CHAIN", chain))
    return nest(name, nest("NFTA_DATA_VERDICT", *v))


def _u32(value: int) -> bytes:
    return struct.pack("=I", value)  # marks and numgen results are host-endian


def _load(field: str, reg: int) -> bytes:
    kind, a, b, size = FIELDS[field]
    if kind == "meta":
        return _expr("meta", be32("NFTA_META_DREG", reg), be32("NFTA_META_KEY", a))
    return _expr("payload", be32("NFTA_PAYLOAD_DREG", reg), be32("NFTA_PAYLOAD_BASE", a),
                 be32("NFTA_PAYLOAD_OFFSET", b), be32("NFTA_PAYLOAD_LEN", size))


def _load_concat(fields: tuple[str, ...]) -> list[bytes]:
    """Load fields into consecutive 32-bit registers, as nft does for a
    concatenation: the first into NFT_REG_1, the rest after it."""
    out, words = [], 0
    for f in fields:
        out.append(_load(f, NFT_REG_1 if words == 0 else NFT_REG32_00 + words))
        words += (FIELDS[f][3] + 3) // 4
    return out


def _cmp(op: int, value: bytes) -> bytes:
    return _expr("cmp", be32("NFTA_CMP_SREG", NFT_REG_1), be32("NFTA_CMP_OP", op),
                 _data("NFTA_CMP_DATA", value))


def _lookup(set_name: str, verdict: bool) -> bytes:
    attrs = [string("NFTA_LOOKUP_SET", set_name), be32("NFTA_LOOKUP_SREG", NFT_REG_1)]
    if verdict:
        attrs.append(be32("NFTA_LOOKUP_DREG", NFT_REG_VERDICT))
    return _expr("lookup", *attrs)


def _mark_load() -> bytes:
    return _expr("meta", be32("NFTA_META_DREG", NFT_REG_1), be32("NFTA_META_KEY", NFT_META_MARK))


def _bitwise(mask: bytes, xor: bytes) -> bytes:
    return _expr("bitwise", be32("NFTA_BITWISE_SREG", NFT_REG_1),
                 be32("NFTA_BITWISE_DREG", NFT_REG_1), be32("NFTA_BITWISE_LEN", 4),
                 _data("NFTA_BITWISE_MASK", mask), _data("NFTA_BITWISE_XOR", xor))


def _mark_update(mask: int, xor: int) -> list[bytes]:
    return [_mark_load(), _bitwise(_u32(mask), _u32(xor)),
            _expr("meta", be32("NFTA_META_SREG", NFT_REG_1), be32("NFTA_META_KEY", NFT_META_MARK))]


def _meta_cmp(key: int, value: bytes) -> list[bytes]:
    return [_expr("meta", be32("NFTA_META_DREG", NFT_REG_1), be32("NFTA_META_KEY", key)),
            _cmp(NFT_CMP_EQ, value)]


def _daddr_in_net(cidr: str) -> list[bytes]:
    """Always masked, even for a byte-aligned prefix (which nft would shorten)."""
    net = ipaddress.IPv4Network(cidr)
    return [_load("ip daddr", NFT_REG_1), _bitwise(net.netmask.packed, bytes(4)),
            _cmp(NFT_CMP_EQ, net.network_address.packed)]


def _immediate_verdict(code: int, chain: str | None = None) -> bytes:
    return _expr("immediate", be32("NFTA_IMMEDIATE_DREG", NFT_REG_VERDICT),
                 _verdict("NFTA_IMMEDIATE_DATA", code, chain))


def statement_exprs(st: Statement) -> list[bytes]:
    """The nf_tables expressions of one rule statement, as ``nft`` encodes them."""
    match st:
        case MatchProto(proto):
            return [_load("meta l4proto", NFT_REG_1), _cmp(NFT_CMP_EQ, bytes([IPPROTO[proto]]))]
        case MatchSaddr(ip):
            return [_load("ip saddr", NFT_REG_1), _cmp(NFT_CMP_EQ, socket.inet_aton(ip))]
        case MatchDaddrIn(set_name):
            return [_load("ip daddr", NFT_REG_1), _lookup(set_name, verdict=False)]
        case MatchCtNew():
            return [_expr("ct", be32("NFTA_CT_DREG", NFT_REG_1), be32("NFTA_CT_KEY", NFT_CT_STATE)),
                    _bitwise(_u32(IP_CT_NEW_BIT), _u32(0)), _cmp(NFT_CMP_NEQ, _u32(0))]
        case MatchMark(mask):
            return [_mark_load(), _bitwise(_u32(mask), _u32(0)), _cmp(NFT_CMP_NEQ, _u32(0))]
        case SetMark(mask):
            return _mark_update(0xFFFFFFFF ^ mask, mask)
        case ClearMark(mask):
            return _mark_update(0xFFFFFFFF, mask)
        case Vmap(fields, map_name):
            return [*_load_concat(fields), _lookup(map_name, verdict=True)]
        case NumgenIs(modulus, value):
            return [_expr("numgen", be32("NFTA_NG_DREG", NFT_REG_1),
                          be32("NFTA_NG_MODULUS", modulus), be32("NFTA_NG_TYPE", NFT_NG_RANDOM),
                          be32("NFTA_NG_OFFSET", 0)),
                    _cmp(NFT_CMP_EQ, _u32(value))]
        case Dnat(ip, port):
            return [
                _expr("immediate", be32("NFTA_IMMEDIATE_DREG", NFT_REG_1),
                      _data("NFTA_IMMEDIATE_DATA", socket.inet_aton(ip))),
                _expr("immediate", be32("NFTA_IMMEDIATE_DREG", NFT_REG_2),
                      _data("NFTA_IMMEDIATE_DATA", struct.pack(">H", port))),
                _expr("nat", be32("NFTA_NAT_TYPE", NFT_NAT_DNAT),
                      be32("NFTA_NAT_FAMILY", NFPROTO_IPV4),
                      be32("NFTA_NAT_REG_ADDR_MIN", NFT_REG_1),
                      be32("NFTA_NAT_REG_PROTO_MIN", NFT_REG_2),
                      be32("NFTA_NAT_FLAGS", NF_NAT_RANGE_PROTO_SPECIFIED)),
            ]
        case Masquerade():
            return [_expr("masq")]
        case Reject(tcp_reset):
            if tcp_reset:
                return [_expr("reject", be32("NFTA_REJECT_TYPE", NFT_REJECT_TCP_RST),
                              u8("NFTA_REJECT_ICMP_CODE", 0))]
            return [_expr("reject", be32("NFTA_REJECT_TYPE", NFT_REJECT_ICMP_UNREACH),
                          u8("NFTA_REJECT_ICMP_CODE", ICMP_PORT_UNREACH))]
        case MatchIfname(name, out):
            return _meta_cmp(NFT_META_OIFNAME if out else NFT_META_IIFNAME,
                             name.encode().ljust(IFNAMSIZ, b"\0"))
        case MatchNfprotoIpv4():
            return _meta_cmp(NFT_META_NFPROTO, bytes([NFPROTO_IPV4]))
        case MatchDaddrNet(cidr):
            return _daddr_in_net(cidr)
        case Counter():
            return [_expr("counter", be64("NFTA_COUNTER_BYTES", 0),
                          be64("NFTA_COUNTER_PACKETS", 0))]
        case Accept():
            return [_immediate_verdict(NF_ACCEPT)]
        case Drop():
            return [_immediate_verdict(NF_DROP)]
        case Jump(chain):
            return [_immediate_verdict(NFT_JUMP, chain)]
        case Goto(chain):
            return [_immediate_verdict(NFT_GOTO, chain)]
    raise TypeError(f"unknown statement {st!r}")


# ---- keys ----------------------------------------------------------------------------------

def key_type(key: tuple[str, ...]) -> tuple[int, int]:
    """(NFTA_SET_KEY_TYPE, NFTA_SET_KEY_LEN) of a (possibly concatenated) key."""
    type_id, length = 0, 0
    for name in key:
        tid, size = KEY_TYPES[name]
        type_id = (type_id << TYPE_BITS) | tid
        length += (size + 3) // 4 * 4 if len(key) > 1 else size
    return type_id, length


def encode_key(key: tuple[str, ...], values: tuple[str | int, ...]) -> bytes:
    out = b""
    for name, value in zip(key, values, strict=True):
        if name == "ipv4_addr":
            part = socket.inet_aton(str(value))
        elif name == "inet_proto":
            part = bytes([IPPROTO[str(value)]])
        elif name == "inet_service":
            part = struct.pack(">H", int(value))
        else:
            part = _u32(int(value))
        out += part + b"\0" * (-len(part) % 4 if len(key) > 1 else 0)
    return out


# ---- messages ------------------------------------------------------------------------------

# Every message builder takes the table's family by name ("ip", "inet"), as Plan.family.

def table_message(table: str, op: int = NFT_MSG_NEWTABLE, family: str = "ip") -> bytes:
    flags = NLM_F_CREATE if op == NFT_MSG_NEWTABLE else 0
    return message(op, flags, string("NFTA_TABLE_NAME", table), family=FAMILIES[family])


def chain_message(table: str, chain: Chain, family: str = "ip") -> bytes:
    attrs = [string("NFTA_CHAIN_TABLE", table), string("NFTA_CHAIN_NAME", chain.name)]
    if chain.hook is not None:
        hook = [be32("NFTA_HOOK_HOOKNUM", HOOKS[chain.hook.hook]),
                be32("NFTA_HOOK_PRIORITY", chain.hook.priority)]
        if chain.hook.device is not None:
            hook.append(string("NFTA_HOOK_DEV", chain.hook.device))
        attrs += [
            nest("NFTA_CHAIN_HOOK", *hook),
            be32("NFTA_CHAIN_POLICY", NF_ACCEPT),
            string("NFTA_CHAIN_TYPE", chain.hook.type),
        ]
    return message(NFT_MSG_NEWCHAIN, NLM_F_CREATE, *attrs, family=FAMILIES[family])


def rule_message(table: str, chain: str, rule: Rule, family: str = "ip") -> bytes:
    exprs = [e for st in rule for e in statement_exprs(st)]
    return message(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
                   string("NFTA_RULE_TABLE", table), string("NFTA_RULE_CHAIN", chain),
                   nest("NFTA_RULE_EXPRESSIONS", *exprs), family=FAMILIES[family])


def set_message(table: str, obj: VerdictMap | AddrSet, family: str = "ip") -> bytes:
    ktype, klen = key_type(obj.key)
    attrs = [string("NFTA_SET_TABLE", table), string("NFTA_SET_NAME", obj.name)]
    if isinstance(obj, VerdictMap):
        attrs += [be32("NFTA_SET_FLAGS", NFT_SET_MAP), be32("NFTA_SET_KEY_TYPE", ktype),
                  be32("NFTA_SET_KEY_LEN", klen), be32("NFTA_SET_DATA_TYPE", NFT_DATA_VERDICT),
                  be32("NFTA_SET_DATA_LEN", 16)]
    else:
        attrs += [be32("NFTA_SET_FLAGS", 0), be32("NFTA_SET_KEY_TYPE", ktype),
                  be32("NFTA_SET_KEY_LEN", klen)]
    attrs.append(be32("NFTA_SET_ID", zlib.crc32(obj.name.encode()) & 0x7FFFFFFF or 1))
    return message(NFT_MSG_NEWSET, NLM_F_CREATE, *attrs, family=FAMILIES[family])


def element_messages(table: str, obj: VerdictMap | AddrSet,
                     delete: bool = False, family: str = "ip") -> Iterator[bytes]:
    """NEWSETELEM (or, with ``delete``, DELSETELEM: keys only) messages for
    the elements of ``obj``, a few hundred per message."""
    elems: list[bytes] = []
    if isinstance(obj, VerdictMap):
        for values, chain in obj.elements:
            key = _data("NFTA_SET_ELEM_KEY", encode_key(obj.key, values))
            elems.append(key if delete else key + _verdict("NFTA_SET_ELEM_DATA", NFT_GOTO, chain))
    else:
        for value in obj.elements:
            elems.append(_data("NFTA_SET_ELEM_KEY", encode_key(obj.key, (value,))))
    msg_type, flags = (NFT_MSG_DELSETELEM, 0) if delete else (NFT_MSG_NEWSETELEM, NLM_F_CREATE)
    for i in range(0, len(elems), ELEMENTS_PER_MESSAGE):
        chunk = elems[i:i + ELEMENTS_PER_MESSAGE]
        yield message(msg_type, flags,
                      string("NFTA_SET_ELEM_LIST_TABLE", table),
                      string("NFTA_SET_ELEM_LIST_SET", obj.name),
                      # items numbered 1, 2, ... as libnftnl does
                      nest("NFTA_SET_ELEM_LIST_ELEMENTS",
                           *(nest(n, e) for n, e in enumerate(chunk, 1))),
                      family=FAMILIES[family])


def flush_chain_message(table: str, chain: str, family: str = "ip") -> bytes:
    """DELRULE without a handle: every rule of the chain."""
    return message(NFT_MSG_DELRULE, 0, string("NFTA_RULE_TABLE", table),
                   string("NFTA_RULE_CHAIN", chain), family=FAMILIES[family])


def delete_chain_message(table: str, chain: str, family: str = "ip") -> bytes:
    return message(NFT_MSG_DELCHAIN, 0, string("NFTA_CHAIN_TABLE", table),
                   string("NFTA_CHAIN_NAME", chain), family=FAMILIES[family])


def delta_messages(table: str, delta: Delta, family: str = "ip") -> list[bytes]:
    """The edits of ``delta`` in the order ``netproxy.delta`` describes."""
    out = [flush_chain_message(table, c, family) for c in delta.flush_chains]
    for s in delta.del_elements:
        out += element_messages(table, s, delete=True, family=family)
    out += [delete_chain_message(table, c, family) for c in delta.del_chains]
    out += [chain_message(table, c, family) for c in delta.add_chains]
    for s in delta.add_elements:
        out += element_messages(table, s, family=family)
    for c in delta.add_rules:
        out += [rule_message(table, c.name, r, family) for r in c.rules]
    return out


class Encoder:
    """Encodes plans, remembering the bytes of each object from the last plan."""

    def __init__(self) -> None:
        self._cache: dict[tuple, list[bytes]] = {}

    def _get(self, key: tuple, make: Callable[..., Iterable[bytes]],  # called with no arguments;
             fresh: dict[tuple, list[bytes]]) -> list[bytes]:
        msgs = self._cache.get(key)
        if msgs is None:
            msgs = list(make())
        fresh[key] = msgs
        return msgs

    def messages(self, plan: Plan) -> list[bytes]:
        """Every message that creates ``plan``'s table from nothing, in an
        order the kernel accepts: objects before what refers to them."""
        t, f = plan.table, plan.family
        fresh: dict[tuple, list[bytes]] = {}
        out = [table_message(t, family=f)]
        for c in plan.chains:
            out += self._get(("chain", f, t, c.name, c.hook),
                             lambda c=c: [chain_message(t, c, f)], fresh)
        for s in (*plan.sets, *plan.maps):
            out += self._get(("set", f, t, s), lambda s=s: [set_message(t, s, f)], fresh)
        for s in (*plan.sets, *plan.maps):
            out += self._get(("elems", f, t, s), lambda s=s: element_messages(t, s, family=f),
                             fresh)
        for c in plan.chains:
            for r in c.rules:
                out += self._get(("rule", f, t, c.name, r),
                                 lambda c=c, r=r: [rule_message(t, c.name, r, f)], fresh)
        self._cache = fresh
        return out
