"""The ctnetlink messages netproxy packs itself, checked against pyroute2's
decoder and encoder (the kernel round trip is in tests/e2e/test_netproxy_e2e.py)."""

from __future__ import annotations

import socket
import struct

from pyroute2.netlink.nfnetlink.nfctsocket import (
    IPCTNL_MSG_CT_DELETE,
    IPS_CONFIRMED,
    IPS_SEEN_REPLY,
    NFCTAttrTuple,
    nfct_msg,
)

from netproxy.conntrack import Entry, delete_request, dump_request, matches, parse_entry
from netproxy.nlattr import messages
from netproxy.plan import StaleFlow


def decode(data: bytes) -> nfct_msg:
    msg = nfct_msg(data)
    msg.decode()
    return msg


def kernel_entry(status: int, proto: int = socket.IPPROTO_TCP, entry_id: int = 77) -> bytes:
    """An entry as the kernel sends it in a dump: client 10.250.0.2:40000 to
    ClusterIP 10.96.0.10:80, DNATed to 10.244.0.2:8080."""
    msg = nfct_msg.create_from(
        tuple_orig=NFCTAttrTuple(saddr="10.250.0.2", daddr="10.96.0.10", proto=proto,
                                 sport=40000, dport=80),
        tuple_reply=NFCTAttrTuple(saddr="10.244.0.2", daddr="10.250.0.2", proto=proto,
                                  sport=8080, dport=40000),
        status=status, id=entry_id)
    msg["nfgen_family"] = socket.AF_INET
    msg["header"]["type"] = 1 << 8
    msg.encode()
    return bytes(msg.data)


def test_a_dump_asks_the_kernel_for_one_protocol_and_only_unanswered_entries():
    msg = decode(dump_request(7, socket.IPPROTO_TCP, unanswered=True))
    assert msg["header"]["sequence_number"] == 7
    assert msg["nfgen_family"] == socket.AF_INET
    proto = msg.get_attr("CTA_TUPLE_ORIG").get_attr("CTA_TUPLE_PROTO")
    assert proto.get_attr("CTA_PROTO_NUM") == socket.IPPROTO_TCP
    assert msg.get_attr("CTA_FILTER").get_attr("CTA_FILTER_ORIG_FLAGS") == 1 << 3
    assert (msg.get_attr("CTA_STATUS"), msg.get_attr("CTA_STATUS_MASK")) == (0, IPS_SEEN_REPLY)

    udp = decode(dump_request(8, socket.IPPROTO_UDP, unanswered=False))
    assert udp.get_attr("CTA_TUPLE_ORIG").get_attr("CTA_TUPLE_PROTO").get_attr(
        "CTA_PROTO_NUM") == socket.IPPROTO_UDP
    assert udp.get_attr("CTA_STATUS") is None and udp.get_attr("CTA_STATUS_MASK") is None


def test_an_entry_is_read_and_its_delete_names_the_same_tuple_and_id():
    entry = parse_entry(kernel_entry(IPS_CONFIRMED))
    assert entry is not None
    assert (entry.proto, entry.dst, entry.dport, entry.reply_src, entry.status) == (
        socket.IPPROTO_TCP, "10.96.0.10", 80, ("10.244.0.2", 8080), IPS_CONFIRMED)
    delete = decode(delete_request(9, entry))
    assert delete["header"]["type"] == (1 << 8) | IPCTNL_MSG_CT_DELETE
    assert delete["header"]["sequence_number"] == 9
    orig = NFCTAttrTuple.from_netlink(socket.AF_INET, delete.get_attr("CTA_TUPLE_ORIG"))
    assert (orig.saddr, orig.daddr, orig.proto, orig.sport, orig.dport) == (
        "10.250.0.2", "10.96.0.10", socket.IPPROTO_TCP, 40000, 80)
    assert delete.get_attr("CTA_ID") == 77
    assert delete.get_attr("CTA_TUPLE_REPLY") is None


def test_messages_split_a_chunk_and_odd_entries_are_skipped():
    done = struct.pack("=IHHII", 20, 3, 0, 5, 0) + b"\0" * 4
    chunk = kernel_entry(0) + done
    assert [(t, seq) for t, seq, _ in messages(chunk)] == [(1 << 8, 0), (3, 5)]
    ipv6 = bytearray(kernel_entry(0))
    ipv6[16] = socket.AF_INET6
    assert parse_entry(bytes(ipv6)) is None
    bare = nfct_msg.create_from(status=0)
    bare["nfgen_family"] = socket.AF_INET
    bare.encode()
    assert parse_entry(bytes(bare.data)) is None  # no tuples: nothing to match


def test_an_unanswered_flow_spares_answered_entries():
    tcp = StaleFlow("TCP", "10.96.0.10", 80, ("10.244.0.2", 8080), unanswered=True)
    syn_sent = parse_entry(kernel_entry(IPS_CONFIRMED))
    established = parse_entry(kernel_entry(IPS_CONFIRMED | IPS_SEEN_REPLY))
    assert matches(tcp, syn_sent) and not matches(tcp, established)
    other: Entry = parse_entry(kernel_entry(IPS_CONFIRMED, entry_id=78))
    assert not matches(StaleFlow("TCP", "10.96.0.11", 80, None, True), other)
    assert not matches(StaleFlow("TCP", "10.96.0.10", 80, ("10.244.0.3", 8080), True), other)
    assert matches(StaleFlow("TCP", None, 80, ("10.244.0.2", 8080), True), other)
    udp = parse_entry(kernel_entry(IPS_SEEN_REPLY, proto=socket.IPPROTO_UDP))
    assert matches(StaleFlow("UDP", "10.96.0.10", 80, None), udp)
    assert not matches(tcp, udp)
