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
connection (pysyncobj's handshake), or a frame that opened under this
connection's AES-GCM key (``peercipher.py``: derived from the secret and
both handshake keys), so a replayed frame does not count. Every frame after
the handshake is sealed that way instead of pysyncobj's Fernet.

Two more things about outgoing connections (``GuardedTransport``):

- They leave from the replica's own Raft address (the host of its bind
  address), not whatever the kernel picks (on loopback always 127.0.0.1), so
  a peer — and a firewall rule — sees which master a connection is from.
- A connection attempt not answered within ``connect_timeout`` (the minimum
  election timeout) is abandoned and retried. pysyncobj waited for the
  kernel: a SYN sent while a peer was unreachable is retransmitted after 1,
  3, 7, 15, 31 s, so a master whose partition healed waited up to the next
  retransmission to rejoin (5.6 s seen after a 15 s partition).
"""

from __future__ import annotations

import errno
import logging
import socket
import struct
import threading
import time
from typing import Any

from .peercipher import FrameCipher, master_key
from .pysyncobj_import import (
    CONNECTION_STATE,
    POLL_EVENT_TYPE,
    TcpConnection,
    TCPTransport,
    pysyncobj_pickle,
)

log = logging.getLogger(__name__)

# Handshake frames are a 32-byte random key, a node address or a small
# utility command, each Fernet-encoded: ~200 bytes.
HANDSHAKE_MAX_BYTES = 4096
# The largest legitimate frame: an append_entries (or a forwarded
# apply_command) holds at most pysyncobj's 64 KiB batch plus one entry, and
# one entry (a group commit batch) at most MAX_ENTRY_BYTES (groupcommit.py)
# plus one command of at most MAX_COMMAND_BYTES (commands.py): 8 MiB, pickled
# and sealed (peercipher.py: 17 bytes more, compressed above 16 KiB) — under
# 9 MiB. Snapshot chunks are 64 KiB. 16 MiB leaves room and is far below
# pysyncobj's 2 GB.
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
    source_host: str | None = None  # outgoing: connect from this address
    connect_started = 0.0
    master_key: bytes | None = None  # from the cluster secret; None: no secret, no cipher
    cipher: FrameCipher | None = None
    _TcpConnection__readBuffer: bytes  # pysyncobj's, set in its __init__

    def frame_cipher(self) -> FrameCipher | None:
        """This connection's cipher once the handshake gave both keys."""
        own, peer = self.recvRandKey, self.sendRandKey
        if self.master_key is None or own is None or peer is None:
            return None
        if self.cipher is None or self.cipher.keys != (own, peer):
            self.cipher = FrameCipher(self.master_key, own, peer)
        return self.cipher

    def send(self, message: Any) -> None:
        cipher = self.frame_cipher()
        # until this side has read a frame carrying its own key, the peer may
        # not know both keys yet: the handshake stays pysyncobj's
        if cipher is None or not self.authenticated:
            TcpConnection.send(self, message)
            return
        frame = cipher.seal(pysyncobj_pickle.dumps(message))
        self._TcpConnection__writeBuffer += struct.pack("i", len(frame)) + frame
        self._TcpConnection__trySendBuffer()

    def disconnect(self) -> None:
        # an outgoing connection is reused for the next attempt: it must
        # authenticate (and agree on keys) again
        self.authenticated = False
        self.cipher = None
        TcpConnection.disconnect(self)

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
        cipher = self.frame_cipher()
        if cipher is not None:
            return self._open_frame(cipher)
        keyed = self.recvRandKey is not None
        message = TcpConnection._TcpConnection__processParseMessage(self)
        if message is not None and keyed:
            # it decrypted and carried the key this side sent (else pysyncobj
            # had disconnected and returned None)
            self.authenticated = True
        return message

    def _open_frame(self, cipher: FrameCipher) -> Any:
        buffered = self._TcpConnection__readBuffer
        if frame_verdict(buffered, MAX_FRAME_BYTES) != "complete":
            return None  # (an oversized one was dropped as it was read)
        end = 4 + struct.unpack("i", buffered[:4])[0]
        try:
            message = pysyncobj_pickle.loads(cipher.open(buffered[4:end]))
        except Exception:  # noqa: BLE001 - a bad frame (FrameError) or pickle ends it
            self.disconnect()
            return None
        self._TcpConnection__readBuffer = buffered[end:]
        self.authenticated = True  # it opened with this connection's keys
        return message

    def connect(self, host: str, port: int) -> bool:
        self.connect_started = time.monotonic()
        if self.source_host is None:
            return bool(TcpConnection.connect(self, host, port))
        return self._connect_from(self.source_host, host, port)

    def _connect_from(self, source: str, host: str, port: int) -> bool:
        """pysyncobj's ``connect``, with the socket bound to ``source`` first."""
        self._TcpConnection__state = CONNECTION_STATE.DISCONNECTED
        self._TcpConnection__fileno = None
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._TcpConnection__sendBufferSize)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self._TcpConnection__recvBufferSize)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._TcpConnection__socket = sock
        self.setSockoptKeepalive()
        sock.setblocking(False)
        self._TcpConnection__readBuffer = b""
        self._TcpConnection__writeBuffer = b""
        self._TcpConnection__lastReadTime = time.monotonic()
        try:
            sock.bind((source, 0))
            sock.connect((host, port))
        except OSError as e:
            if e.errno not in (errno.EINPROGRESS, errno.EWOULDBLOCK):
                sock.close()
                return False
        self._TcpConnection__fileno = sock.fileno()
        self._TcpConnection__state = CONNECTION_STATE.CONNECTING
        self._TcpConnection__poller.subscribe(
            self._TcpConnection__fileno, self._TcpConnection__processConnection,
            POLL_EVENT_TYPE.READ | POLL_EVENT_TYPE.WRITE | POLL_EVENT_TYPE.ERROR)
        return True


def guard(conn: Any, secret: str | bytes | None, source_host: str | None = None) -> None:
    """Make one of pysyncobj's connections a GuardedConnection. Only methods
    differ (and class attributes), so the instance stays valid; pysyncobj
    creates its connections in private code that cannot be told the class."""
    conn.__class__ = GuardedConnection
    if secret:
        conn.master_key = master_key(secret)
    if source_host is not None:
        conn.source_host = source_host


def source_host(bind_address: str | None) -> str | None:
    """The host outgoing connections leave from: the bind address's, unless
    that is a wildcard (then the kernel chooses)."""
    if not bind_address:
        return None
    host = bind_address.rpartition(":")[0].strip("[]")
    return None if host in ("", "0.0.0.0", "::") else host


class GuardedTransport(TCPTransport):
    def _onNewIncomingConnection(self, conn: Any) -> None:  # noqa: N802 - pysyncobj's name
        guard(conn, self._syncObj.conf.password)
        super()._onNewIncomingConnection(conn)

    def addNode(self, node: Any) -> None:  # noqa: N802 - pysyncobj's name
        super().addNode(node)
        conn = self._connections.get(node)
        if conn is not None:
            guard(conn, self._syncObj.conf.password, source_host(self._syncObj.conf.bindAddress))

    def _onTick(self) -> None:  # noqa: N802 - pysyncobj's name
        # abandon a connection attempt the peer has not answered by now: the
        # kernel's next SYN may be seconds away (disconnecting reconnects)
        deadline = time.monotonic() - self._syncObj.conf.raftMinTimeout
        for conn in list(self._connections.values()):
            if (isinstance(conn, GuardedConnection) and conn.state == CONNECTION_STATE.CONNECTING
                    and conn.connect_started < deadline):
                conn.disconnect()
        super()._onTick()
