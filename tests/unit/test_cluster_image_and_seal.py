"""The demo image's build context, and the seal table's plan (pure parts)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from pyroute2.netlink import NLM_F_APPEND, NLM_F_CREATE, NLM_F_REQUEST
from pyroute2.netlink.nfnetlink import NFNL_SUBSYS_NFTABLES
from pyroute2.netlink.nfnetlink.nftsocket import (
    NFPROTO_INET,
    NFT_MSG_NEWCHAIN,
    NFT_MSG_NEWRULE,
    NFT_MSG_NEWTABLE,
    nft_rule_msg,
)
from pyroute2.nftables.expressions import genex, verdict

from cli.commands.cluster import cluster
from localcluster import image, seal
from localcluster.spec import ClusterSpec
from netproxy.nftables import Encoder, rule_message
from netproxy.plan import Accept, Drop, Hook, MatchSaddr
from netproxy.render import render


def fake_files(tmp_path: Path, busybox: bytes = b"\x7fELF") -> dict[str, Path]:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "start.sh").write_text("#!/bin/sh\n")
    (tmp_path / "bb").write_bytes(busybox)
    return image.context_files(tmp_path, tmp_path / "bb")


def test_build_context_holds_dockerfile_start_script_and_busybox(tmp_path):
    files = fake_files(tmp_path)
    with tarfile.open(fileobj=io.BytesIO(image.context_tar(files))) as tar:
        assert sorted(tar.getnames()) == ["Dockerfile", "busybox", "start.sh"]
        assert tar.getmember("busybox").mode & 0o111


def test_context_digest_changes_with_any_file(tmp_path):
    a = image.digest(fake_files(tmp_path))
    assert a == image.digest(fake_files(tmp_path))
    assert a != image.digest(fake_files(tmp_path, busybox=b"\x7fELF2"))


def test_missing_busybox_is_a_clear_error(tmp_path):
    with pytest.raises(image.ImageError, match="busybox-static"):
        image.context_files(tmp_path, tmp_path / "no-busybox")


def test_the_real_demo_context_is_complete():
    files = image.context_files()
    assert "COPY busybox /bin/busybox" in files["Dockerfile"].read_text()
    assert "8080" in files["start.sh"].read_text()


def test_seal_plan_accepts_bridged_drops_the_rest_and_counts_untranslated():
    spec = ClusterSpec(dir=Path("/c"))
    plan = seal.plan(spec)
    assert (plan.table, plan.family, plan.sets) == ("coxswain-seal", "inet", ())
    forward, ingress, _, _ = plan.chains
    assert forward.hook == Hook("forward", "filter", -5)
    assert ingress.hook == Hook("ingress", "filter", 0, device="cox0")
    assert len(forward.rules) == len(seal.FORWARD_RULES)
    assert len(ingress.rules) == len(seal.INGRESS_RULES)
    # as `nft list table inet coxswain-seal` shows it (less the counters' values)
    assert render(plan) == "\n".join([
        "table inet coxswain-seal {",
        "\tmap raft_ports {",
        "\t\ttype inet_proto . inet_service : verdict",
        "\t\telements = { tcp . 7001 : goto raft, tcp . 7002 : goto raft, tcp . 7003 : goto raft }",
        "\t}",
        "\tchain forward {",
        "\t\ttype filter hook forward priority -5; policy accept;",
        '\t\tiifname "cox0" oifname "cox0" accept',
        '\t\tiifname "cox0" counter drop',
        '\t\toifname "cox0" counter drop',
        "\t}",
        "\tchain ingress {",
        '\t\ttype filter hook ingress device "cox0" priority 0; policy accept;',
        "\t\tmeta nfproto ipv4 ip daddr 10.96.0.0/16 counter",  # the counter only counts:
        "\t\tmeta nfproto ipv4 ip daddr 10.244.0.0/16 counter",  # blackhole routes drop
        "\t}",
        "\tchain input {",
        "\t\ttype filter hook input priority 0; policy accept;",
        "\t\tmeta l4proto . th dport vmap @raft_ports",
        "\t}",
        "\tchain raft {",  # only masters reach a Raft port
        "\t\tmeta nfproto ipv4 ip saddr 127.0.0.1 accept",
        "\t\tcounter drop",
        "\t}",
        "}",
    ])


def test_seal_lets_only_master_addresses_reach_raft_ports():
    spec = ClusterSpec(dir=Path("/c"), raft_port_base=43001, raft_host="10.9.0.1", masters=2)
    plan = seal.plan(spec)
    assert plan.map(seal.RAFT_PORTS_MAP).elements == (
        (("tcp", 43001), "raft"), (("tcp", 43002), "raft"))
    assert [r[-1] for r in plan.chain("raft").rules] == [Accept(), Drop()]
    assert MatchSaddr("10.9.0.1") in plan.chain("raft").rules[0]


def _pyroute2_rule(table: str, chain: str, exprs: list) -> bytes:
    msg = nft_rule_msg()
    msg["header"]["type"] = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND
    msg["nfgen_family"] = NFPROTO_INET
    msg["attrs"] = [("NFTA_RULE_TABLE", table), ("NFTA_RULE_CHAIN", chain),
                    ("NFTA_RULE_EXPRESSIONS", exprs)]
    msg.encode()
    return bytes(msg.data)


def _meaning(rule: bytes) -> list[tuple[str, dict]]:
    """A NEWRULE message decoded: each expression's name and attributes
    (attribute order inside an expression carries no meaning)."""
    def plain(v):
        return {k: plain(x) for k, x in v["attrs"]} if isinstance(v, dict) and "attrs" in v else v

    msg = nft_rule_msg(rule)
    msg.decode()
    assert (msg["nfgen_family"], msg["header"]["type"] & 0xFF) == (NFPROTO_INET, NFT_MSG_NEWRULE)
    return [(e.get_attr("NFTA_EXPR_NAME"), plain(e.get_attr("NFTA_EXPR_DATA")))
            for e in msg.get_attr("NFTA_RULE_EXPRESSIONS")]


def test_seal_rules_mean_what_the_former_pyroute2_encoding_sent():
    """The seal used to build its rules from pyroute2's generic expressions;
    netproxy's encoder must send the same rules."""
    spec = ClusterSpec(dir=Path("/c"), bridge="coxt0", service_cidr="10.96.251.0/24",
                       cluster_cidr="10.244.251.0/24")

    def meta(key):
        return genex("meta", {"key": key, "dreg": 1})

    def cmp(data):
        return genex("cmp", {"sreg": 1, "op": 0, "data": {"attrs": [("NFTA_DATA_VALUE", data)]}})

    def ifname(key):  # 6 iifname, 7 oifname
        return [meta(key), cmp(b"coxt0".ljust(16, b"\0"))]

    def daddr_in(net, mask):
        return [meta(15), cmp(b"\x02"),
                genex("payload", {"dreg": 1, "base": 1, "offset": 16, "len": 4}),
                genex("bitwise", {"sreg": 1, "dreg": 1, "len": 4,
                                  "mask": {"attrs": [("NFTA_DATA_VALUE", mask)]},
                                  "xor": {"attrs": [("NFTA_DATA_VALUE", bytes(4))]}}),
                cmp(net)]

    counter = [genex("counter", {"bytes": 0, "packets": 0})]
    former = {
        "forward": [ifname(6) + ifname(7) + verdict(1),
                    ifname(6) + counter + verdict(0),
                    ifname(7) + counter + verdict(0)],
        "ingress": [daddr_in(bytes([10, 96, 251, 0]), bytes([255, 255, 255, 0])) + counter,
                    daddr_in(bytes([10, 244, 251, 0]), bytes([255, 255, 255, 0])) + counter],
    }
    plan = seal.plan(spec)
    for chain in plan.chains[:2]:  # the Raft port rules came later
        ours = [rule_message(plan.table, chain.name, r, plan.family) for r in chain.rules]
        assert [_meaning(m) for m in ours] == [_meaning(_pyroute2_rule(plan.table, chain.name, e))
                                               for e in former[chain.name]]
    # and the whole table goes out as one netproxy batch: table, 4 chains, 8 rules (and a map)
    msgs = Encoder().messages(plan)
    kinds = [m[4] for m in msgs]
    assert kinds[0] == NFT_MSG_NEWTABLE
    assert (kinds.count(NFT_MSG_NEWCHAIN), kinds.count(NFT_MSG_NEWRULE)) == (4, 8)


def test_bad_command_line_input_gets_a_one_line_error():
    res = CliRunner().invoke(cluster, ["up", "--masters", "0"])
    assert res.exit_code == 2 and "--masters" in res.output
    assert "Traceback" not in res.output
