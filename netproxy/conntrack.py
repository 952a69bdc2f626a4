"""Delete stale UDP conntrack entries (the I/O half of ``plan.stale_udp_flows``).

UDP has no connection end, so after an endpoint goes away a client that
keeps sending from the same port would keep its NAT binding to the dead
endpoint until the entry times out. Deleting the entry makes the next packet
go through the table again.
"""

from __future__ import annotations

import logging
import socket

from pyroute2 import NFCTSocket
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from .plan import StaleFlow

log = logging.getLogger(__name__)


def matches(flow: StaleFlow, orig: NFCTAttrTuple, reply: NFCTAttrTuple) -> bool:
    if orig.proto != socket.IPPROTO_UDP or orig.dport != flow.dport:
        return False
    if flow.dst is not None and orig.daddr != flow.dst:
        return False
    if flow.endpoint is not None:
        return (reply.saddr, reply.sport) == flow.endpoint
    return True


def delete_stale(flows: list[StaleFlow], netns: str | None = None) -> int:
    """Delete the UDP conntrack entries ``flows`` describe; returns how many."""
    if not flows:
        return 0
    deleted = 0
    kwargs = {"netns": netns, "flags": 0} if netns else {}
    with NFCTSocket(**kwargs) as ct:
        entries = list(ct.dump(tuple_orig=NFCTAttrTuple(proto=socket.IPPROTO_UDP)))
        for entry in entries:
            orig = NFCTAttrTuple.from_netlink(socket.AF_INET, entry.get_attr("CTA_TUPLE_ORIG"))
            reply = NFCTAttrTuple.from_netlink(socket.AF_INET, entry.get_attr("CTA_TUPLE_REPLY"))
            if not any(matches(f, orig, reply) for f in flows):
                continue
            try:
                ct.entry("del", tuple_orig=orig)
                deleted += 1
            except Exception as e:  # noqa: BLE001 - it may have expired meanwhile
                log.debug("conntrack delete %s: %s", orig, e)
    return deleted
