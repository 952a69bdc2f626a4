"""The netlink encoding of a plan, checked against pyroute2's own encoder
and decoder for nf_tables messages (no root, no kernel)."""

from __future__ import annotations

import socket
import struct

from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST
from pyroute2.netlink.nfnetlink import NFNL_SUBSYS_NFTABLES
from pyroute2.netlink.nfnetlink.nftsocket import (
    NFPROTO_INET,
    NFT_MSG_NEWCHAIN,
    NFT_MSG_NEWRULE,
    NFT_MSG_NEWSET,
    NFT_MSG_NEWSETELEM,
    NFT_MSG_NEWTABLE,
    nft_chain_msg,
    nft_rule_msg,
    nft_set_elem_list_msg,
    nft_set_msg,
    nft_table_msg,
)

from netproxy.nftables import (
    Encoder,
    chain_message,
    element_messages,
    encode_key,
    key_type,
    rule_message,
    set_message,
    statement_exprs,
    table_message,
)
from netproxy.plan import (
    MASQ_MARK,
    VIP_FIELDS,
    VIP_KEY,
    Accept,
    Chain,
    Counter,
    Dnat,
    Drop,
    Goto,
    Hook,
    MatchDaddrNet,
    MatchIfname,
    MatchNfprotoIpv4,
    MatchProto,
    NumgenIs,
    Plan,
    Reject,
    SetMark,
    VerdictMap,
    Vmap,
    build_plan,
)


def pyroute2_bytes(cls, msg_type, flags, attrs, family=socket.AF_INET):
    msg = cls()
    msg["header"]["type"] = (NFNL_SUBSYS_NFTABLES << 8) | msg_type
    msg["header"]["flags"] = NLM_F_REQUEST | flags
    msg["nfgen_family"] = family
    msg["attrs"] = attrs
    msg.encode()
    return bytes(msg.data)


def decode(cls, data):
    msg = cls(data)
    msg.decode()
    return msg


def expr(name, **data):
    attrs = [("NFTA_EXPR_NAME", name)]
    if data:
        prefix = {"numgen": "NG"}.get(name, name.upper())
        attrs.append(("NFTA_EXPR_DATA", {"attrs": [(f"NFTA_{prefix}_{k.upper()}", v)
                                                   for k, v in data.items()]}))
    return {"attrs": attrs}


def value(b):
    return {"attrs": [("NFTA_DATA_VALUE", b)]}


def test_vip_key_is_nfts_concatenation_of_addr_proto_port():
    # nft: type ipv4_addr . inet_proto . inet_service -> key type 29453, 12 bytes
    assert key_type(VIP_KEY) == ((7 << 12) | (12 << 6) | 13, 12)
    # nft --debug=netlink: element 0100600a 00000006 00005000
    assert encode_key(VIP_KEY, ("10.96.0.1", "tcp", 80)) == bytes.fromhex(
        "0a600001" "06000000" "00500000")


def test_rule_bytes_equal_pyroute2_encoding():
    rule = (Vmap(VIP_FIELDS, "service-ips"),)
    ours = rule_message("t", "c", rule)
    ref = pyroute2_bytes(nft_rule_msg, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [
        ("NFTA_RULE_TABLE", "t"), ("NFTA_RULE_CHAIN", "c"),
        ("NFTA_RULE_EXPRESSIONS", [
            expr("payload", dreg=1, base=1, offset=16, len=4),
            expr("meta", dreg=9, key=16),
            expr("payload", dreg=10, base=2, offset=2, len=2),
            expr("lookup", set="service-ips", sreg=1, dreg=0),
        ]),
    ])
    assert ours == ref


def test_dnat_and_numgen_expressions_equal_pyroute2_encoding():
    rule = (NumgenIs(3, 0), MatchProto("udp"), SetMark(MASQ_MARK), Dnat("10.244.0.2", 5353),
            Goto("ep-x"))
    ours = rule_message("t", "c", rule)
    verdict = {"attrs": [("NFTA_DATA_VERDICT", {"attrs": [("NFTA_VERDICT_CODE", -4),
                                                          ("NFTA_VERDICT_CHAIN", "ep-x")]})]}
    mark = struct.pack("=I", MASQ_MARK)
    ref = pyroute2_bytes(nft_rule_msg, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [
        ("NFTA_RULE_TABLE", "t"), ("NFTA_RULE_CHAIN", "c"),
        ("NFTA_RULE_EXPRESSIONS", [
            expr("numgen", dreg=1, modulus=3, type=1, offset=0),
            expr("cmp", sreg=1, op=0, data=value(struct.pack("=I", 0))),
            expr("meta", dreg=1, key=16),
            expr("cmp", sreg=1, op=0, data=value(b"\x11")),
            expr("meta", dreg=1, key=3),
            expr("bitwise", sreg=1, dreg=1, len=4,
                 mask=value(struct.pack("=I", 0xFFFFFFFF ^ MASQ_MARK)), xor=value(mark)),
            expr("meta", sreg=1, key=3),
            expr("immediate", dreg=1, data=value(socket.inet_aton("10.244.0.2"))),
            expr("immediate", dreg=2, data=value(struct.pack(">H", 5353))),
            expr("nat", type=1, family=2, reg_addr_min=1, reg_proto_min=2,
                 flags={"NF_NAT_RANGE_PROTO_SPECIFIED"}),
            expr("immediate", dreg=0, data=verdict),
        ]),
    ])
    assert ours == ref


def test_reject_is_tcp_reset_for_tcp_and_icmp_port_unreachable_otherwise():
    for st, rtype, code in ((Reject(True), "NFT_REJECT_TCP_RST", 0),
                            (Reject(False), "NFT_REJECT_ICMP_UNREACH", 3)):
        raw = rule_message("t", "c", (st,))
        (e,) = decode(nft_rule_msg, raw).get_attr("NFTA_RULE_EXPRESSIONS")
        assert e.get_attr("NFTA_EXPR_DATA").get_attr("NFTA_REJECT_TYPE") == rtype
        # the u8 code attribute ends the message (pyroute2 names codes as ICMPX ones)
        assert raw.endswith(struct.pack("=HHB3x", 5, 2, code))


def test_hook_chain_bytes_equal_pyroute2_encoding():
    plan = build_plan([], [], ["10.0.0.1"])
    pre = plan.chain("nat-prerouting")
    ref = pyroute2_bytes(nft_chain_msg, NFT_MSG_NEWCHAIN, NLM_F_CREATE, [
        ("NFTA_CHAIN_TABLE", "t"), ("NFTA_CHAIN_NAME", "nat-prerouting"),
        ("NFTA_CHAIN_HOOK", {"attrs": [("NFTA_HOOK_HOOKNUM", 0), ("NFTA_HOOK_PRIORITY", -100)]}),
        ("NFTA_CHAIN_POLICY", 1), ("NFTA_CHAIN_TYPE", "nat"),
    ])
    assert chain_message("t", pre) == ref


def test_verdict_map_and_elements_equal_pyroute2_encoding():
    vmap = VerdictMap("service-ips", VIP_KEY, ((("10.96.0.1", "tcp", 80), "svc-a"),
                                                (("10.96.0.2", "udp", 53), "svc-b")))
    msg = decode(nft_set_msg, set_message("t", vmap))
    assert msg.get_attr("NFTA_SET_FLAGS") == {"NFT_SET_MAP"}
    assert msg.get_attr("NFTA_SET_KEY_TYPE") == key_type(VIP_KEY)[0]
    assert msg.get_attr("NFTA_SET_DATA_TYPE") == 0xFFFFFF00  # verdict
    assert msg["header"]["type"] & 0xFF == NFT_MSG_NEWSET

    (elems,) = list(element_messages("t", vmap))
    ref = pyroute2_bytes(nft_set_elem_list_msg, NFT_MSG_NEWSETELEM, NLM_F_CREATE, [
        ("NFTA_SET_ELEM_LIST_TABLE", "t"), ("NFTA_SET_ELEM_LIST_SET", "service-ips"),
        ("NFTA_SET_ELEM_LIST_ELEMENTS", [
            {"attrs": [("NFTA_SET_ELEM_KEY", value(encode_key(VIP_KEY, k))),
                       ("NFTA_SET_ELEM_DATA", {"attrs": [("NFTA_DATA_VERDICT", {"attrs": [
                           ("NFTA_VERDICT_CODE", -4), ("NFTA_VERDICT_CHAIN", c)]})]})]}
            for k, c in vmap.elements]),
    ])
    assert elems == ref


def test_large_maps_are_split_into_messages_under_64k():
    vmap = VerdictMap("m", VIP_KEY, tuple(((f"10.96.{i // 250}.{i % 250}", "tcp", 80), "svc-" + "x" * 200)
                                          for i in range(1000)))
    msgs = list(element_messages("t", vmap))
    assert len(msgs) > 1
    assert all(len(m) < 65536 for m in msgs)
    total = sum(len(decode(nft_set_elem_list_msg, m).get_attr("NFTA_SET_ELEM_LIST_ELEMENTS"))
                for m in msgs)
    assert total == 1000


def test_every_statement_kind_encodes():
    plan = build_plan(
        [{"metadata": {"name": "w"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.1",
                                              "ports": [{"port": 80, "nodePort": 30001}]}}],
        [{"metadata": {"name": "w"}, "subsets": [{"addresses": [{"ip": "10.244.0.2"},
                                                               {"ip": "10.244.0.3"}],
                                                 "ports": [{"port": 80}]}]}], ["10.0.0.1"])
    for c in plan.chains:
        for r in c.rules:
            for st in r:
                assert statement_exprs(st)
            decode(nft_rule_msg, rule_message(plan.table, c.name, r))


def test_encoder_reuses_bytes_of_unchanged_objects():
    def plan(ip):
        return build_plan(
            [{"metadata": {"name": n}, "spec": {"clusterIP": f"10.96.0.{i + 1}",
                                                "ports": [{"port": 80}]}}
             for i, n in enumerate(("a", "b"))],
            [{"metadata": {"name": "a"}, "subsets": [{"addresses": [{"ip": ip}],
                                                      "ports": [{"port": 80}]}]},
             {"metadata": {"name": "b"}, "subsets": [{"addresses": [{"ip": "10.244.0.9"}],
                                                      "ports": [{"port": 80}]}]}])

    enc = Encoder()
    first = enc.messages(plan("10.244.0.2"))
    second = enc.messages(plan("10.244.0.3"))
    same = {id(m) for m in first} & {id(m) for m in second}
    assert len(same) >= len(first) // 2  # service b and the fixed chains were not re-encoded
    assert enc.messages(plan("10.244.0.3")) == second


def verdict_data(code):
    return {"attrs": [("NFTA_DATA_VERDICT", {"attrs": [("NFTA_VERDICT_CODE", code)]})]}


def test_interface_counter_and_verdict_statements_equal_pyroute2_encoding():
    rule = (MatchIfname("cox0"), MatchIfname("cox0", out=True), Counter(), Accept())
    ours = rule_message("t", "forward", rule, family="inet")
    name = value(b"cox0".ljust(16, b"\0"))  # nft compares the whole IFNAMSIZ array
    ref = pyroute2_bytes(nft_rule_msg, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [
        ("NFTA_RULE_TABLE", "t"), ("NFTA_RULE_CHAIN", "forward"),
        ("NFTA_RULE_EXPRESSIONS", [
            expr("meta", dreg=1, key=6), expr("cmp", sreg=1, op=0, data=name),
            expr("meta", dreg=1, key=7), expr("cmp", sreg=1, op=0, data=name),
            expr("counter", bytes=0, packets=0),
            expr("immediate", dreg=0, data=verdict_data(1)),
        ]),
    ], family=NFPROTO_INET)
    assert ours == ref
    assert rule_message("t", "c", (Drop(),)) == pyroute2_bytes(
        nft_rule_msg, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [
            ("NFTA_RULE_TABLE", "t"), ("NFTA_RULE_CHAIN", "c"),
            ("NFTA_RULE_EXPRESSIONS", [expr("immediate", dreg=0, data=verdict_data(0))])])


def test_daddr_in_network_is_nfproto_then_masked_address_as_nft_encodes_it():
    ours = rule_message("t", "c", (MatchNfprotoIpv4(), MatchDaddrNet("10.96.0.0/16")),
                        family="inet")
    ref = pyroute2_bytes(nft_rule_msg, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, [
        ("NFTA_RULE_TABLE", "t"), ("NFTA_RULE_CHAIN", "c"),
        ("NFTA_RULE_EXPRESSIONS", [
            expr("meta", dreg=1, key=15), expr("cmp", sreg=1, op=0, data=value(b"\x02")),
            expr("payload", dreg=1, base=1, offset=16, len=4),
            expr("bitwise", sreg=1, dreg=1, len=4, mask=value(socket.inet_aton("255.255.0.0")),
                 xor=value(bytes(4))),
            expr("cmp", sreg=1, op=0, data=value(socket.inet_aton("10.96.0.0"))),
        ]),
    ], family=NFPROTO_INET)
    assert ours == ref


def test_ingress_chain_is_bound_to_its_device_in_an_inet_table():
    chain = Chain("ingress", hook=Hook("ingress", "filter", 0, device="cox0"))
    ref = pyroute2_bytes(nft_chain_msg, NFT_MSG_NEWCHAIN, NLM_F_CREATE, [
        ("NFTA_CHAIN_TABLE", "t"), ("NFTA_CHAIN_NAME", "ingress"),
        ("NFTA_CHAIN_HOOK", {"attrs": [("NFTA_HOOK_HOOKNUM", 5), ("NFTA_HOOK_PRIORITY", 0),
                                       ("NFTA_HOOK_DEV", "cox0")]}),
        ("NFTA_CHAIN_POLICY", 1), ("NFTA_CHAIN_TYPE", "filter"),
    ], family=NFPROTO_INET)
    assert chain_message("t", chain, family="inet") == ref


def test_every_message_of_an_inet_plan_carries_the_inet_family():
    plan = Plan("t", (Chain("forward", hook=Hook("forward", "filter", -5), rules=((Drop(),),)),),
                maps=(), sets=(), family="inet")
    msgs = Encoder().messages(plan)
    assert msgs[0] == pyroute2_bytes(nft_table_msg, NFT_MSG_NEWTABLE, NLM_F_CREATE,
                                     [("NFTA_TABLE_NAME", "t")], family=NFPROTO_INET)
    assert msgs[0] == table_message("t", family="inet")
    assert [m[16] for m in msgs] == [NFPROTO_INET] * 3  # nfgenmsg.nfgen_family
