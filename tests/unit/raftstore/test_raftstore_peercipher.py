"""Raft frames after the handshake (peercipher.py): AES-GCM per connection
and direction; anything replayed, reordered, tampered with or sealed under
another secret or connection does not open."""

from __future__ import annotations

import os
import struct

import pytest

from raftstore.peercipher import COMPRESS_ABOVE, OVERHEAD, FrameCipher, FrameError, master_key
from raftstore.peerguard import GuardedConnection, guard
from raftstore.pysyncobj_import import TcpConnection
from raftstore.pysyncobj_import import pysyncobj_pickle as pickle


def pair(secret_a: str = "s3cret", secret_b: str = "s3cret") -> tuple[FrameCipher, FrameCipher]:
    """Both ends of one connection: a's handshake key, b's handshake key."""
    ka, kb = os.urandom(32), os.urandom(32)
    return FrameCipher(master_key(secret_a), ka, kb), FrameCipher(master_key(secret_b), kb, ka)


def test_frames_open_on_the_other_side_in_order_both_ways() -> None:
    a, b = pair()
    for i in range(3):
        assert b.open(a.seal(b"to b %d" % i)) == b"to b %d" % i
        assert a.open(b.seal(b"to a %d" % i)) == b"to a %d" % i


def test_small_frames_are_not_compressed_large_ones_are() -> None:
    a, b = pair()
    small = b"x" * 1000
    frame = a.seal(small)
    assert len(frame) == len(small) + OVERHEAD
    assert b.open(frame) == small
    large = b"y" * (COMPRESS_ABOVE + 1)
    frame = a.seal(large)
    assert len(frame) < len(large) // 10
    assert b.open(frame) == large


def test_a_replayed_frame_does_not_open() -> None:
    a, b = pair()
    frame = a.seal(b"append")
    b.open(frame)
    with pytest.raises(FrameError):
        b.open(frame)


def test_reordered_frames_do_not_open() -> None:
    a, b = pair()
    first, second = a.seal(b"1"), a.seal(b"2")
    with pytest.raises(FrameError):
        b.open(second)
    del first


def test_a_frame_sent_back_to_its_sender_does_not_open() -> None:
    a, _ = pair()
    with pytest.raises(FrameError):
        a.open(a.seal(b"reflected"))


def test_a_frame_of_another_connection_does_not_open() -> None:
    a, _ = pair()
    _, d = pair()
    with pytest.raises(FrameError):
        d.open(a.seal(b"elsewhere"))


def test_another_secret_does_not_open() -> None:
    a, b = pair("s3cret", "other")
    with pytest.raises(FrameError):
        b.open(a.seal(b"x"))


@pytest.mark.parametrize("cut", [lambda f: f[:-1], lambda f: f[:5],
                                 lambda f: f[:3] + bytes([f[3] ^ 1]) + f[4:]])
def test_a_tampered_or_truncated_frame_does_not_open(cut) -> None:  # type: ignore[no-untyped-def]
    a, b = pair()
    with pytest.raises(FrameError):
        b.open(cut(a.seal(b"hello world")))


class _Poller:
    def subscribe(self, *_: object) -> None: ...

    def unsubscribe(self, *_: object) -> None: ...


def test_a_connection_authenticates_again_after_a_disconnect() -> None:
    # pysyncobj reuses an outgoing connection object for every attempt: what
    # the last peer proved must not carry over (frame limit, cipher)
    conn = TcpConnection(_Poller())
    guard(conn, "s3cret")
    assert isinstance(conn, GuardedConnection)
    conn.recvRandKey, conn.sendRandKey = os.urandom(32), os.urandom(32)
    conn.authenticated = True
    assert conn.frame_cipher() is not None
    conn.disconnect()
    assert not conn.authenticated and conn.cipher is None and conn.frame_cipher() is None


def test_a_connection_opens_sealed_frames_and_drops_on_a_bad_one() -> None:
    conn = TcpConnection(_Poller())
    guard(conn, "s3cret")
    own, peer = os.urandom(32), os.urandom(32)
    conn.recvRandKey, conn.sendRandKey = own, peer
    sender = FrameCipher(master_key("s3cret"), peer, own)
    frames = [sender.seal(pickle.dumps({"type": "append_entries", "n": i})) for i in range(2)]
    conn._TcpConnection__readBuffer = b"".join(struct.pack("i", len(f)) + f for f in frames)
    assert conn._TcpConnection__processParseMessage() == {"type": "append_entries", "n": 0}
    assert conn.authenticated
    assert conn._TcpConnection__processParseMessage() == {"type": "append_entries", "n": 1}
    replay = struct.pack("i", len(frames[1])) + frames[1]
    conn._TcpConnection__readBuffer = replay
    assert conn._TcpConnection__processParseMessage() is None
    assert not conn.authenticated  # dropped
