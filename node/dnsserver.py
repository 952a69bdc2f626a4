"""The node's cluster DNS server: UDP on the pod network's gateway address,
answering from the ``Zone`` the agent rebuilds from its Service and
Endpoints watches (``node/dnszone.py`` decides every answer)."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import dns.exception
import dns.flags
import dns.message

from coxapi.informer import Informer

from .dnszone import Zone, answer, build

log = logging.getLogger(__name__)
MAX_UDP = 512  # without EDNS; a longer answer is sent truncated (TC) per RFC 1035


def reply_bytes(zone: Zone, packet: bytes) -> bytes | None:
    """The wire answer to one query packet; None for a packet that is not a query."""
    try:
        query = dns.message.from_wire(packet)
    except dns.exception.DNSException:
        return None
    reply = answer(zone, query)
    limit = max(MAX_UDP, query.payload if query.edns >= 0 else 0)
    try:
        return reply.to_wire(max_size=limit)
    except dns.exception.TooBig:
        reply.answer.clear()
        reply.flags |= dns.flags.TC
        return reply.to_wire()


class DnsServer:
    def __init__(self, zone: Callable[[], Zone], address: str, port: int = 53) -> None:
        self.zone = zone
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.settimeout(0.5)  # to notice stop
        self.address = self.sock.getsockname()

    def serve(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    packet, peer = self.sock.recvfrom(4096)
                except TimeoutError:
                    continue
                except OSError as e:
                    log.warning("dns: receiving failed: %s", e)
                    continue
                out = reply_bytes(self.zone(), packet)
                if out is not None:
                    try:
                        self.sock.sendto(out, peer)
                    except OSError as e:
                        log.debug("dns: answering %s failed: %s", peer, e)
        finally:
            self.sock.close()


class ZoneFeed:
    """The zone, rebuilt (when asked for after a change) from this agent's
    Service and Endpoints watches; the masters answer for
    ``kubernetes.default``."""

    def __init__(self, services: Informer, endpoints: Informer, masters: list[str]) -> None:
        self.services, self.endpoints = services, endpoints
        self.masters = sorted({h for h in (urlsplit(u).hostname for u in masters) if h})
        self._lock = threading.Lock()
        self._zone = Zone()
        self._dirty = True
        for inf in (services, endpoints):
            inf.add_handler(self._changed, lambda _old, _new: self._changed(None), self._changed)

    def _changed(self, _obj: object) -> None:
        self._dirty = True

    def zone(self) -> Zone:
        with self._lock:
            if self._dirty:
                self._dirty = False  # before reading: a change meanwhile marks it again
                self._zone = build(self.services.list(), self.endpoints.list(), self.masters)
            return self._zone
