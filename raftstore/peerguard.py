"""The Raft port's guard: bounded frames, nothing large before authentication.

pysyncobj reads a 4-byte length and then appends everything the socket has
to one ``bytes`` buffer (``+=``, quadratic) until that many bytes are in —
up to 2 GB — before it decrypts anything. Anyone who can reach the port
could make a master buffer and copy tens of MB without knowing the cluster
secret, stalling its Raft thread (issue 9: 60 MB cost the leader 26
CPU-seconds and three elections).

``GuardedConnection`` checks each frame's announced length as soon as its
header is in, and drops the connection when it is negative or above the
limit: ``HANDSHAKE_MAX_BYTES`` until the peer has proven it holds the cluster
secret, ``MAX_FRAME_BYTES`` after. It stops reading once the frame at the
head of the buffer is complete, so the buffer holds at most one frame and one
``recv``. Authenticated means: a frame decrypted with the cluster secret
(Fernet, HMAC-checked) and carried the random key this side sent on this
connection (pysyncobj's handshake), so a replayed frame does not count.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from typing import Any

from .pysyncobj_import import TcpConnection, TCPTransport

log = logging.getLogger(__name__)

# Handshake frames are a 32-byte random key, a node address or a small
# utility command, each Fernet-encoded: ~200 bytes.
HANDSHAKE_MAX_BYTES = 4096
# The largest legitimate frame: an append_entries (or a forwarded
# apply_command) holds at most pysyncobj's 64 KiB batch plus one entry, and
# one entry (a group commit batch) at most MAX_ENTRY_BYTES (groupcommit.py)
# plus one command of at most MAX_COMMAND_BYTES (commands.py): 8 MiB, pickled,
# compressed, then Fernet-encoded (base64: x 4/3) — under 11 MiB. Snapshot
# chunks are 64 KiB. 16 MiB leaves room and is far below pysyncobj's 2 GB.
MAX_FRAME_BYTES = 16 * 1024 * 1024
LOG_EVERY = 10.0  # seconds between warnings about dropped peers (a flood would flood the log)


def frame_verdict(buffered: bytes, limit: int) -> str:
    """'read' (more of the head frame to come), 'complete' (the head frame is
    in: parse before reading on) or 'drop' (it announces a length outside
    0..limit)."""
    if len(buffered) < 4:
        return "read"
    (length,) = struct.unpack("i", buffered[:4])
    if not 0 <= length <= limit:
        return "drop"
    return "complete" if len(buffered) >= 4 + length else "read"


class DropLog:
    """Counts dropped connections; warns at most every ``LOG_EVERY`` seconds."""

    def __init__(self) -> None:
        self.dropped = 0
        self._unlogged = 0
        self._last = -LOG_EVERY
        self._lock = threading.Lock()

    def note(self, length: int, limit: int) -> None:
        with self._lock:
            self.dropped += 1
            self._unlogged += 1
            now = time.monotonic()
            if now - self._last < LOG_EVERY:
                return
            count, self._unlogged, self._last = self._unlogged, 0, now
        log.warning("dropped %d Raft connection(s) announcing an oversized frame "
                    "(last: %d bytes, limit %d)", count, length, limit)


drops = DropLog()


class GuardedConnection(TcpConnection):
    authenticated = False

    def frame_limit(self) -> int:
        if self.authenticated or self.encryptor is None:  # no secret: nothing to prove
            return MAX_FRAME_BYTES
        return HANDSHAKE_MAX_BYTES

    def _TcpConnection__processRead(self) -> bool:  # noqa: N802 - pysyncobj's name
        if not TcpConnection._TcpConnection__processRead(self):
            return False
        buffered = self._TcpConnection__readBuffer
        limit = self.frame_limit()
        verdict = frame_verdict(buffered, limit)
        if verdict == "drop":
            drops.note(struct.unpack("i", buffered[:4])[0], limit)
            self.disconnect()
            return False
        return verdict == "read"

    def _TcpConnection__processParseMessage(self) -> Any:  # noqa: N802 - pysyncobj's name
        keyed = self.recvRandKey is not None
        message = TcpConnection._TcpConnection__processParseMessage(self)
        if message is not None and keyed:
            # it decrypted and carried the key this side sent (else pysyncobj
            # had disconnected and returned None)
            self.authenticated = True
        return message


def guard(conn: Any) -> None:
    """Make one of pysyncobj's connections a GuardedConnection. Only methods
    differ (and one class attribute), so the instance stays valid; pysyncobj
    creates its connections in private code that cannot be told the class."""
    conn.__class__ = GuardedConnection


class GuardedTransport(TCPTransport):
    def _onNewIncomingConnection(self, conn: Any) -> None:  # noqa: N802 - pysyncobj's name
        guard(conn)
        super()._onNewIncomingConnection(conn)

    def addNode(self, node: Any) -> None:  # noqa: N802 - pysyncobj's name
        super().addNode(node)
        conn = self._connections.get(node)
        if conn is not None:
            guard(conn)
