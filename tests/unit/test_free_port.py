"""The ports tests give their servers: never one the kernel may hand to an
outgoing connection, never the same twice."""

from __future__ import annotations

import socket

from tests.support import ephemeral_range, free_port


def test_free_ports_are_distinct_bindable_and_outside_theephemeral_range():
    lo, hi = ephemeral_range()
    # a burst of outgoing connections takes ephemeral source ports meanwhile
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        clients = [socket.create_connection(server.getsockname()) for _ in range(50)]
        try:
            ports = [free_port() for _ in range(300)]
        finally:
            for c in clients:
                c.close()
    assert len(set(ports)) == len(ports)
    assert not any(lo <= p <= hi for p in ports)
    for p in ports[:20]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", p))
