"""Delete stale conntrack entries (the I/O half of ``plan.stale_flows``).

Conntrack keeps the NAT decision of a flow's first packet for the flow's
life. UDP has no connection end, so after an endpoint goes away a client that
keeps sending from the same port would keep its binding to the dead endpoint
until the entry times out. A TCP SYN that a dead endpoint never answered
leaves an entry for two minutes, which a client reusing that source port
would match. Deleting the entries makes the next packet go through the table
again.

The dump and the deletes go over a plain ctnetlink socket, kept open, with
messages packed by ``struct`` (as ``nlattr`` does for nf_tables): pyroute2's
NFCTSocket took 12 ms to dump an empty table, and 53 ms inside a network
namespace, which every sync that removes a TCP endpoint would pay. The
kernel filters the dump by protocol (Linux 5.8) and, for TCP, to entries that
never saw a reply (5.15); older kernels send every entry and ``matches``
checks each one again.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR
from pyroute2.netlink.nfnetlink import NFNL_SUBSYS_CTNETLINK
from pyroute2.netlink.nfnetlink.nfctsocket import (
    IPCTNL_MSG_CT_DELETE,
    IPCTNL_MSG_CT_GET,
    IPS_SEEN_REPLY,
    nfct_msg,
)

from .nlattr import attr, attribute_ids, message, messages, nest
from .plan import StaleFlow
from .table import open_socket

log = logging.getLogger(__name__)

PROTOCOLS = {"TCP": socket.IPPROTO_TCP, "UDP": socket.IPPROTO_UDP}


# pyroute2's attribute numbers: one source of truth for the wire format
CTA = attribute_ids(nfct_msg)
TUPLE = attribute_ids(nfct_msg.cta_tuple)
IP = attribute_ids(nfct_msg.cta_tuple.cta_ip)
PROTO = attribute_ids(nfct_msg.cta_tuple.cta_proto)
FILTER = attribute_ids(nfct_msg.cta_filter)
FILTER_PROTO_NUM = 1 << 3  # CTA_FILTER_FLAG(CTA_PROTO_NUM)
NLA_F_NESTED = 1 << 15
NLA_TYPE_MASK = 0x3FFF


@dataclass(frozen=True)
class Entry:
    """One conntrack entry as far as staleness goes."""
    proto: int
    dst: str  # original destination (the ClusterIP or node address)
    dport: int
    reply_src: tuple[str, int]  # who answers: the endpoint after DNAT
    status: int
    key: bytes  # its CTA_TUPLE_ORIG and CTA_ID attributes as sent: what a delete names


def matches(flow: StaleFlow, entry: Entry) -> bool:
    if entry.proto != PROTOCOLS[flow.protocol] or entry.dport != flow.dport:
        return False
    if flow.unanswered and entry.status & IPS_SEEN_REPLY:
        return False
    if flow.dst is not None and entry.dst != flow.dst:
        return False
    return flow.endpoint is None or entry.reply_src == flow.endpoint


# ---- wire format (pure) ----------------------------------------------------------------

def _message(msg_type: int, flags: int, seq: int, *attrs: bytes) -> bytes:
    data = bytearray(message(msg_type, flags, *attrs, family=socket.AF_INET,
                             subsystem=NFNL_SUBSYS_CTNETLINK))
    struct.pack_into("=I", data, 8, seq)
    return bytes(data)


def _nested(name: int, *children: bytes) -> bytes:
    return nest(name | NLA_F_NESTED, *children)


def dump_request(seq: int, proto: int, unanswered: bool) -> bytes:
    """Dump the IPv4 entries of ``proto``; with ``unanswered``, only those
    whose status lacks SEEN_REPLY."""
    attrs = [_nested(CTA["CTA_TUPLE_ORIG"], _nested(TUPLE["CTA_TUPLE_PROTO"],
                                                    attr(PROTO["CTA_PROTO_NUM"], bytes([proto])))),
             _nested(CTA["CTA_FILTER"], attr(FILTER["CTA_FILTER_ORIG_FLAGS"],
                                             struct.pack("=I", FILTER_PROTO_NUM)))]
    if unanswered:
        attrs += [attr(CTA["CTA_STATUS"], struct.pack(">I", 0)),
                  attr(CTA["CTA_STATUS_MASK"], struct.pack(">I", IPS_SEEN_REPLY))]
    return _message(IPCTNL_MSG_CT_GET, NLM_F_DUMP, seq, *attrs)


def delete_request(seq: int, entry: Entry) -> bytes:
    return _message(IPCTNL_MSG_CT_DELETE, NLM_F_ACK, seq, entry.key)


def _attrs(buf: bytes, start: int, end: int) -> dict[int, tuple[int, int]]:
    """Attribute type -> (start, end) of each attribute in ``buf[start:end]``,
    header included."""
    out = {}
    while start + 4 <= end:
        length, kind = struct.unpack_from("=HH", buf, start)
        if length < 4:
            break
        out[kind & NLA_TYPE_MASK] = (start, start + length)
        start += (length + 3) & ~3
    return out


def _tuple(buf: bytes, span: tuple[int, int]) -> tuple[str, str, int, int, int]:
    """(src, dst, proto, sport, dport) of a CTA_TUPLE_* attribute."""
    parts = _attrs(buf, span[0] + 4, span[1])
    ip = _attrs(buf, parts[TUPLE["CTA_TUPLE_IP"]][0] + 4, parts[TUPLE["CTA_TUPLE_IP"]][1])
    pr = _attrs(buf, parts[TUPLE["CTA_TUPLE_PROTO"]][0] + 4, parts[TUPLE["CTA_TUPLE_PROTO"]][1])

    def addr(name: str) -> str:
        return socket.inet_ntoa(buf[ip[IP[name]][0] + 4:ip[IP[name]][0] + 8])

    def port(name: str) -> int:
        return struct.unpack_from(">H", buf, pr[PROTO[name]][0] + 4)[0] if PROTO[name] in pr else 0

    return (addr("CTA_IP_V4_SRC"), addr("CTA_IP_V4_DST"), buf[pr[PROTO["CTA_PROTO_NUM"]][0] + 4],
            port("CTA_PROTO_SRC_PORT"), port("CTA_PROTO_DST_PORT"))


def parse_entry(msg: bytes) -> Entry | None:
    """The entry in one ctnetlink message (netlink header included); None
    for one that is not IPv4 or lacks what staleness needs."""
    if msg[16] != socket.AF_INET:
        return None
    top = _attrs(msg, 20, len(msg))
    need = (CTA["CTA_TUPLE_ORIG"], CTA["CTA_TUPLE_REPLY"], CTA["CTA_STATUS"])
    if not all(n in top for n in need):
        return None
    try:
        _, dst, proto, _, dport = _tuple(msg, top[CTA["CTA_TUPLE_ORIG"]])
        rsrc, _, _, rsport, _ = _tuple(msg, top[CTA["CTA_TUPLE_REPLY"]])
    except (KeyError, struct.error, OSError):
        return None
    (status,) = struct.unpack_from(">I", msg, top[CTA["CTA_STATUS"]][0] + 4)
    key = b"".join(_padded(msg, top[n]) for n in (CTA["CTA_TUPLE_ORIG"], CTA["CTA_ID"]) if n in top)
    return Entry(proto, dst, dport, (rsrc, rsport), status, key)


def _padded(buf: bytes, span: tuple[int, int]) -> bytes:
    raw = buf[span[0]:span[1]]
    return raw + b"\0" * (-len(raw) % 4)


# ---- the socket (I/O) ------------------------------------------------------------------

class Conntrack:
    """A ctnetlink socket in network namespace ``netns`` (the current one if
    None), opened on first use and kept. Not thread-safe: one owner."""

    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._sock: socket.socket | None = None
        self._seq = 0

    def delete_stale(self, flows: list[StaleFlow]) -> int:
        """Delete the entries ``flows`` describe; returns how many."""
        if not flows:
            return 0
        try:
            stale = [e for e in self._candidates(flows) if any(matches(f, e) for f in flows)]
            return self._delete(stale)
        except BaseException:
            self.close()  # a half-read answer must not meet the next request
            raise

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self._sock = open_socket(self.netns)
            self._sock.settimeout(10)
        return self._sock

    def _next_seq(self) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        return self._seq

    def _candidates(self, flows: list[StaleFlow]) -> list[Entry]:
        found: list[Entry] = []
        for name in sorted({f.protocol for f in flows}):
            unanswered = all(f.unanswered for f in flows if f.protocol == name)
            found.extend(self._dump(PROTOCOLS[name], unanswered))
        return found

    def _dump(self, proto: int, unanswered: bool) -> list[Entry]:
        sock = self._socket()
        seq = self._next_seq()
        sock.send(dump_request(seq, proto, unanswered))
        found: list[Entry] = []
        while True:
            for mtype, mseq, msg in messages(sock.recv(1 << 20)):
                if mseq != seq:
                    continue
                if mtype == NLMSG_DONE:
                    return found
                if mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", msg, 16)
                    raise OSError(-err, f"conntrack dump: {os.strerror(-err)}")
                entry = parse_entry(msg)
                if entry is not None:
                    found.append(entry)

    def _delete(self, entries: list[Entry]) -> int:
        if not entries:
            return 0
        sock = self._socket()
        pending: set[int] = set()
        for entry in entries:
            seq = self._next_seq()
            sock.send(delete_request(seq, entry))
            pending.add(seq)
        deleted = 0
        while pending:
            for mtype, seq, msg in messages(sock.recv(1 << 20)):
                if mtype != NLMSG_ERROR or seq not in pending:
                    continue
                pending.discard(seq)
                (err,) = struct.unpack_from("=i", msg, 16)
                if err == 0:
                    deleted += 1
                elif err != -errno.ENOENT:  # ENOENT: it expired meanwhile
                    log.debug("conntrack delete: %s", os.strerror(-err))
        return deleted


def delete_stale(flows: list[StaleFlow], netns: str | None = None) -> int:
    """``Conntrack(netns).delete_stale(flows)`` on a socket of its own."""
    ct = Conntrack(netns)
    try:
        return ct.delete_stale(flows)
    finally:
        ct.close()
