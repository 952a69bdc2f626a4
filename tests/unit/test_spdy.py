"""coxapi.spdy (SPDY/3.1 framing, server side) and coxapi.pfstreams (the
port-forward stream pairs), from byte vectors."""

from __future__ import annotations

import struct
import zlib

import pytest

from coxapi import errors, pfstreams, spdy
from tests.spdyclient import Client


def test_dictionary_is_spdy3s():
    d = spdy.DICTIONARY
    assert len(d) == 1423
    assert d.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert d.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")
    assert zlib.adler32(d) == 0xE3C6A7C2  # the id every SPDY/3 zlib stream names it by


# What kubectl 1.32 sent first through its port-forward tunnel (captured in
# tests/e2e/test_kubectl_portforward_e2e.py): the error streams of five
# concurrent connections, their header blocks sharing one zlib stream.
KUBECTL_SYN_STREAMS = bytes.fromhex(
    "800300010000003d0000000100000000000078f9e3c6a7c202253a703a2b294a4dcc851625aca9a080"
    "8614cb45a024cc6461c0c0c0c0590489c44c50e2663400000000ffff80030001000000180000000300"
    "0000000000826a45153524ca3000000000ffff80030001000000140000000500000000000022df5623"
    "00000000ffff800300010000001300000007000000000000225fab31000000ffff8003000100000013"
    "00000009000000000000225fab09000000ffff")


def test_kubectls_own_frames():
    s = spdy.Session()
    assert s.feed(KUBECTL_SYN_STREAMS) == [
        spdy.StreamOpened(1 + 2 * i, {"streamtype": ["error"], "port": ["80"],
                                      "requestid": [str(i)]}, False) for i in range(5)]
    assert s.data_to_send() == b""


def test_a_ping_from_the_client_is_echoed_and_makes_no_event():
    s = spdy.Session()
    ping = bytes.fromhex("80030006 00000004 00000001")
    assert s.feed(ping) == []
    assert s.data_to_send() == ping


def test_a_data_frame_arriving_in_pieces():
    s = spdy.Session()
    frame = bytes.fromhex("00000003 01000005") + b"hello"
    assert s.feed(frame[:3]) == []
    assert s.feed(frame[3:9]) == []
    assert s.feed(frame[9:]) == [spdy.Data(3, b"hello", True)]


def test_rst_stream_goaway_and_ignored_frames():
    s = spdy.Session()
    rst = bytes.fromhex("80030003 00000008 00000005 00000005")
    goaway = bytes.fromhex("80030007 00000008 00000003 00000000")
    settings = bytes.fromhex("80030004 0000000c 00000001 00000007 00010000")
    window = bytes.fromhex("80030009 00000008 00000001 00001000")
    assert s.feed(settings + window + rst + goaway) == [spdy.StreamReset(5, spdy.CANCEL),
                                                       spdy.GoAway(3, 0)]
    assert s.data_to_send() == b""


def test_syn_stream_headers_over_one_zlib_stream():
    c, s = Client(), spdy.Session()
    one, f1 = c.syn_stream({"streamType": ["error"], "port": ["80"], "requestID": ["0"]},
                           fin=True)
    two, f2 = c.syn_stream({"streamType": ["data"], "port": ["80"], "requestID": ["0"]})
    # the second block refers back to the first: it only decodes in the same stream
    assert len(f2) < len(f1)
    assert s.feed(f1 + f2) == [
        spdy.StreamOpened(1, {"streamtype": ["error"], "port": ["80"], "requestid": ["0"]}, True),
        spdy.StreamOpened(3, {"streamtype": ["data"], "port": ["80"], "requestid": ["0"]}, False)]
    assert (one, two) == (1, 3)


def test_syn_stream_layout():
    """Frame header, stream id, associated id, priority and slot, then the
    compressed block, whose zlib header names the SPDY dictionary."""
    _, frame = Client().syn_stream({"port": ["80"]})
    word, flags_length = struct.unpack(">II", frame[:8])
    assert word == 0x80030001 and flags_length >> 24 == 0
    assert flags_length & 0xFFFFFF == len(frame) - 8
    assert struct.unpack(">IIH", frame[8:18]) == (1, 0, 0)
    cmf, flg = frame[18], frame[19]
    assert cmf & 0x0F == 8 and flg & 0x20  # deflate, FDICT
    assert struct.unpack(">I", frame[20:24])[0] == zlib.adler32(spdy.DICTIONARY)


def test_replies_data_and_resets_read_back_by_a_client():
    c, s = Client(), spdy.Session()
    s.reply(1)
    s.reply(3, {"X-Thing": ["a", "b"]})
    s.send_data(3, b"payload")
    s.send_data(1, b"", fin=True)
    s.reset(5, spdy.REFUSED_STREAM)
    s.go_away()
    s.go_away()  # once only
    assert c.read(s.data_to_send()) == [
        ("reply", 1, {}), ("reply", 3, {"x-thing": ["a", "b"]}),
        ("data", 3, (b"payload", False)), ("data", 1, (b"", True)),
        ("rst", 5, spdy.REFUSED_STREAM), ("goaway", 0, 0)]


def test_a_reply_frame_exactly():
    s = spdy.Session()
    s.reply(7, fin=True)
    out = s.data_to_send()
    assert out[:4] == bytes.fromhex("80030002")
    assert out[4] == spdy.FLAG_FIN and int.from_bytes(out[5:8], "big") == len(out) - 8
    assert out[8:12] == bytes.fromhex("00000007")
    block = zlib.decompressobj(zdict=spdy.DICTIONARY).decompress(out[12:])
    assert block == b"\x00\x00\x00\x00"  # no headers


def test_large_data_is_split_at_the_24_bit_length():
    s = spdy.Session()
    s.send_data(1, b"x" * (spdy.MAX_FRAME + 10), fin=True)
    frames = Client().read(s.data_to_send())
    assert [(len(d), fin) for _, _, (d, fin) in frames] == [(spdy.MAX_FRAME, False), (10, True)]


@pytest.mark.parametrize("frame", [
    bytes.fromhex("80020001 0000000a 00000001 00000000 0000"),  # SPDY/2
    bytes.fromhex("80030001 0000000e 00000001 00000000 0000") + b"nozlib",
    bytes.fromhex("80030006 00000002 0000"),  # a short PING
])
def test_broken_frames_are_protocol_errors(frame):
    with pytest.raises(spdy.ProtocolError):
        spdy.Session().feed(frame)


def test_a_client_may_not_open_an_even_or_reused_stream():
    c, s = Client(), spdy.Session()
    _, f1 = c.syn_stream({"port": ["1"]})
    s.feed(f1)
    c.next_id = 1
    _, again = c.syn_stream({"port": ["1"]})
    with pytest.raises(spdy.ProtocolError):
        s.feed(again)


def test_header_block_values_split_on_nul():
    block = spdy.encode_headers({"A": ["1", "2"], "b": ["x"]})
    assert block == (b"\x00\x00\x00\x02" + b"\x00\x00\x00\x01a" + b"\x00\x00\x00\x031\x002"
                     + b"\x00\x00\x00\x01b" + b"\x00\x00\x00\x01x")
    assert spdy.decode_headers(block) == {"a": ["1", "2"], "b": ["x"]}
    with pytest.raises(spdy.ProtocolError):
        spdy.decode_headers(block[:-1])


# ---- port-forward stream pairs -------------------------------------------------------

def _h(kind: str, port: str = "80", rid: str | None = "0") -> spdy.Headers:
    out = {"streamtype": [kind], "port": [port]}
    if rid is not None:
        out["requestid"] = [rid]
    return out


def test_streams_pair_by_request_id_in_any_order():
    p = pfstreams.Pairs()
    assert p.add(1, _h("error", rid="0")) is None
    assert p.add(3, _h("error", rid="1")) is None
    assert p.add(5, _h("data", rid="1")) == pfstreams.Pair("1", 80, data=5, error=3)
    assert p.add(7, _h("data", rid="0")) == pfstreams.Pair("0", 80, data=7, error=1)


def test_old_clients_without_request_ids_pair_by_stream_id():
    p = pfstreams.Pairs()
    assert p.add(1, _h("error", rid=None)) is None
    assert p.add(3, _h("data", rid=None)) == pfstreams.Pair("1", 80, data=3, error=1)


@pytest.mark.parametrize("headers,field", [
    ({"port": ["80"]}, "streamType"),
    (_h("stdin"), "streamType"),
    ({"streamtype": ["data"]}, "port"),
    (_h("data", port="http"), "port"),
    (_h("data", port="0"), "port"),
    (_h("data", port="70000"), "port"),
])
def test_bad_stream_headers_are_400s_naming_the_header(headers, field):
    with pytest.raises(errors.BadRequest, match=f"^{field}:"):
        pfstreams.Pairs().add(1, headers)


def test_a_second_stream_of_one_kind_or_another_port_is_refused():
    p = pfstreams.Pairs()
    p.add(1, _h("error"))
    with pytest.raises(errors.BadRequest, match="streamType: a second error"):
        p.add(3, _h("error"))
    with pytest.raises(errors.BadRequest, match="port: 81 differs"):
        p.add(5, _h("data", port="81"))
    assert p.add(7, _h("data")) == pfstreams.Pair("0", 80, data=7, error=1)
