"""Raft peer frames after the handshake: AES-GCM under a key of their own for
each connection and direction, compressed only when large.

pysyncobj pickled, zlib-compressed and Fernet-encrypted every message
(AES-CBC, an HMAC, base64, and on receipt the HMAC checked twice: once to
read the timestamp, once to decrypt): about 1 ms of the Raft thread per
message on this machine, most of a small commit's cost. The handshake stays
pysyncobj's (each side sends a fresh random 32-byte key, Fernet-encrypted
with the cluster secret, and the other side must echo it). After it both
sides hold both keys, and every further frame is

    length (4 bytes) | AES-GCM(key, nonce = frame counter, flag (1 byte) | body)

``key`` is HKDF(master key, receiver's key | sender's key), the master key
PBKDF2 of the cluster secret, so only a holder of the secret who saw this
connection's handshake can seal or open its frames; the nonce is a counter
the receiver keeps too, so a frame replayed, reordered or carried over from
another connection fails its tag and the connection is dropped. ``flag`` 0:
``body`` is the pickled message; 1: it is zlib-compressed (messages above
``COMPRESS_ABOVE`` bytes: compressing a 1 KiB append cost more than sending
it).
"""

from __future__ import annotations

import functools
import zlib

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

MASTER_SALT = b"coxswain raft frames v1"
KEY_INFO = b"coxswain raft frame key v1"
PBKDF2_ITERATIONS = 100_000  # once per process (cached): as pysyncobj's own key
COMPRESS_ABOVE = 16 * 1024
OVERHEAD = 1 + 16  # flag + GCM tag
RAW, COMPRESSED = b"\x00", b"\x01"


class FrameError(Exception):
    """A frame that does not open: wrong key, replayed, reordered or corrupt."""


@functools.lru_cache(maxsize=4)
def master_key(secret: str | bytes) -> bytes:
    """The cluster secret stretched as pysyncobj stretches it (another salt)."""
    raw = secret.encode() if isinstance(secret, str) else secret
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=MASTER_SALT,
                     iterations=PBKDF2_ITERATIONS)
    return kdf.derive(raw)


def direction_key(master: bytes, receiver_key: bytes, sender_key: bytes) -> bytes:
    """The key of frames going to the side that chose ``receiver_key``."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=KEY_INFO + receiver_key + sender_key)
    return hkdf.derive(master)


def _nonce(counter: int) -> bytes:
    return counter.to_bytes(12, "big")


class FrameCipher:
    """Both directions of one connection. ``own_key`` is the random key this
    side sent in the handshake (pysyncobj's ``recvRandKey``), ``peer_key`` the
    other side's (``sendRandKey``)."""

    def __init__(self, master: bytes, own_key: bytes, peer_key: bytes) -> None:
        self.keys = (own_key, peer_key)
        self._seal = AESGCM(direction_key(master, peer_key, own_key))
        self._open = AESGCM(direction_key(master, own_key, peer_key))
        self._sent = 0
        self._received = 0

    def seal(self, payload: bytes) -> bytes:
        if len(payload) > COMPRESS_ABOVE:
            plain = COMPRESSED + zlib.compress(payload, 1)
        else:
            plain = RAW + payload
        frame = self._seal.encrypt(_nonce(self._sent), plain, None)
        self._sent += 1
        return frame

    def open(self, frame: bytes) -> bytes:
        try:
            plain = self._open.decrypt(_nonce(self._received), frame, None)
        except Exception as e:  # InvalidTag, or a frame shorter than a tag
            raise FrameError("a Raft frame did not authenticate") from e
        self._received += 1
        flag, body = plain[:1], plain[1:]
        if flag == RAW:
            return body
        if flag == COMPRESSED:
            try:
                return zlib.decompress(body)
            except zlib.error as e:
                raise FrameError("a compressed Raft frame is corrupt") from e
        raise FrameError(f"unknown Raft frame flag {flag!r}")
