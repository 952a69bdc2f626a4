"""One nftables table in the kernel, replaced whole in one netlink batch.

``NftTable.apply(plan)`` sends::

    BATCH_BEGIN, NEWTABLE t, DELTABLE t, NEWTABLE t, chains, sets, elements,
    rules, BATCH_END

The kernel commits a batch all or nothing (the first NEWTABLE makes the
DELTABLE valid when the table does not exist yet), so no packet ever sees a
half-written table, and a refused batch leaves the previous table in place.
The batch goes out on a plain netlink socket so that the kernel's answers
for the whole batch are read and reported (pyroute2's NFTSocket.commit()
does not read them). A plan equal to the last applied one sends nothing.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import struct
from collections.abc import Iterator

from pyroute2.netlink import NETLINK_NETFILTER, NLM_F_ACK
from pyroute2.netlink.nfnetlink.nftsocket import (
    NFT_MSG_DELCHAIN,
    NFT_MSG_DELRULE,
    NFT_MSG_DELSETELEM,
    NFT_MSG_DELTABLE,
    NFT_MSG_GETCHAIN,
    NFT_MSG_GETGEN,
    NFT_MSG_GETTABLE,
    NFT_MSG_NEWCHAIN,
    NFT_MSG_NEWRULE,
    NFT_MSG_NEWSET,
    NFT_MSG_NEWSETELEM,
    NFT_MSG_NEWTABLE,
    nft_chain_msg,
    nft_gen_msg,
    nft_rule_msg,
    nft_set_elem_list_msg,
    nft_set_msg,
    nft_table_msg,
)

from .delta import diff, from_change
from .nftables import FAMILIES, Encoder, delta_messages, table_message
from .nlattr import batch_marker, message, messages, string
from .plan import Change, Plan

NFNL_MSG_BATCH_BEGIN = 0x10
NFNL_MSG_BATCH_END = 0x11
NLMSG_ERROR = 2
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33

log = logging.getLogger(__name__)


class NftError(Exception):
    """The kernel refused a transaction; nothing of it was applied."""


def open_socket(netns: str | None = None) -> socket.socket:
    """A NETLINK_NETFILTER socket, in network namespace ``netns`` if given
    (an existing one: it is never created here)."""
    if netns is None:
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    else:
        from pyroute2.netns import create_socket
        if not os.path.exists(f"/run/netns/{netns}") and not netns.startswith("/"):
            raise FileNotFoundError(f"network namespace {netns!r} does not exist")
        sock = create_socket(netns, socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER,
                             flags=0)
    sock.bind((0, 0))
    for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
        sock.setsockopt(SOL_NETLINK, opt, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 4 << 20)
    return sock


class NftTable:
    """One nftables table owned by the proxy, kept equal to the last plan
    given to ``apply``. Not thread-safe: one owner (the proxy loop); use a
    second instance to look at the table from elsewhere."""

    def __init__(self, table: str, netns: str | None = None, family: str = "ip") -> None:
        self.table = table
        self.netns = netns
        self.family = family  # "ip" or "inet"; plans given to apply() must match
        self.applied: Plan | None = None
        self.transactions = 0  # batches sent: a no-change re-sync adds none
        self.incremental_writes = 0  # of which edits rather than a full replace
        self._encoder = Encoder()
        self._sock: socket.socket | None = None
        self._seq = 1

    def _socket(self) -> socket.socket:
        if self._sock is None:
            self._sock = open_socket(self.netns)
        return self._sock

    def apply(self, plan: Plan, change: Change | None = None) -> bool:
        """Make the kernel table exactly ``plan``; False when it already is.

        After a successful apply only the difference is sent (``delta``),
        found from ``change`` (the ``Planner``'s, that led to ``plan``) when
        it starts from the plan applied last; the first apply, one after a
        failure, and a change of base chains or maps replace the whole table."""
        if (plan.table, plan.family) != (self.table, self.family):
            raise ValueError(f"plan is for table {plan.family} {plan.table!r}, "
                             f"not {self.family} {self.table!r}")
        if plan == self.applied:
            return False
        delta = None
        if change is not None and change.previous is self.applied:
            delta = from_change(change, plan)
        elif self.applied is not None:
            delta = diff(self.applied, plan)
        if delta is not None:
            try:
                self._transact(delta_messages(self.table, delta, self.family))
                self.applied = plan
                self.incremental_writes += 1
                return True
            except NftError as e:
                # Refused as a whole, so the old table stands; replace it instead.
                log.warning("incremental update of table %s refused (%s); replacing the table",
                            self.table, e)
        body = self._encoder.messages(plan)
        # NEWTABLE, DELTABLE, then the table afresh: valid whether or not it exists.
        self._transact([*self._drop_table(), *body])
        self.applied = plan
        return True

    def delete(self) -> None:
        """Remove the table (and everything in it); fine if it is not there."""
        self._transact(self._drop_table())
        self.applied = None

    def _drop_table(self) -> list[bytes]:
        """NEWTABLE, DELTABLE: in a batch, no table afterwards whether or not it existed."""
        return [table_message(self.table, family=self.family),
                table_message(self.table, NFT_MSG_DELTABLE, family=self.family)]

    def exists(self) -> bool:
        reply = self._request(NFT_MSG_GETTABLE, [string("NFTA_TABLE_NAME", self.table)],
                              missing_ok=True)
        return reply is not None

    def has_chain(self, name: str) -> bool:
        reply = self._request(NFT_MSG_GETCHAIN, [string("NFTA_CHAIN_TABLE", self.table),
                                                  string("NFTA_CHAIN_NAME", name)], missing_ok=True)
        return reply is not None

    def generation(self) -> int:
        """The namespace's nf_tables ruleset generation: bumped by every commit."""
        reply = self._request(NFT_MSG_GETGEN, [])
        msg = nft_gen_msg(reply)
        msg.decode()
        return msg.get_attr("NFTA_GEN_ID")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    # ---- netlink plumbing ----------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = self._seq % 0x7FFFFFFF + 1
        return self._seq

    def _transact(self, messages: list[bytes]) -> None:
        sock = self._socket()
        parts = [batch_marker(NFNL_MSG_BATCH_BEGIN), *messages, batch_marker(NFNL_MSG_BATCH_END)]
        buf = bytearray(b"".join(parts))
        seqs: dict[int, int] = {}
        offset = 0
        for i, part in enumerate(parts):
            seq = self._next_seq()
            seqs[seq] = i
            struct.pack_into("=I", buf, offset + 8, seq)
            if i == len(parts) - 2:  # ask for an ack of the last real message
                flags = struct.unpack_from("=H", buf, offset + 6)[0] | NLM_F_ACK
                struct.pack_into("=H", buf, offset + 6, flags)
                last_seq = seq
            offset += len(part)
        errors: list[str] = []
        acked = False
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, len(buf) + 65536)
            sock.sendto(bytes(buf), (0, 0))
            self.transactions += 1
            # nfnetlink handles the batch inside sendmsg: every answer is queued now.
            for seq, err, text in self._read_errors(sock, block_until=last_seq):
                idx = seqs.get(seq)
                if idx is None:
                    continue  # a late answer to an earlier request
                if err == 0:
                    acked = acked or seq == last_seq
                    continue
                errors.append(f"{_describe(parts[idx])}: {os.strerror(-err)}"
                              + (f" ({text})" if text else ""))
        except (OSError, NftError):
            self.close()  # start the next attempt on a fresh socket
            raise
        if errors:
            raise NftError(f"nftables transaction on table {self.table!r} failed: "
                           + "; ".join(errors[:5]))
        if not acked:
            raise NftError(f"nftables transaction on table {self.table!r}: no answer from kernel")

    def _read_errors(self, sock: socket.socket, block_until: int) -> Iterator[tuple[int, int, str]]:
        """(seq, errno, message) of every answer: wait for ``block_until``'s
        ack, then drain what else is queued."""
        sock.settimeout(10)
        while True:
            try:
                data = sock.recv(1 << 20)
            except (BlockingIOError, TimeoutError):
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:
                    raise NftError("netlink receive buffer overflowed reading the answers") from e
                raise
            for mtype, seq, msg in messages(data):
                if mtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", msg, 16)
                    yield seq, err, _ext_ack_text(msg) if err else ""
                    if seq == block_until:
                        sock.settimeout(0)  # all else is queued already

    def _request(self, msg_type: int, attrs: list[bytes],
                 missing_ok: bool = False) -> bytes | None:
        sock = self._socket()
        seq = self._next_seq()
        data = bytearray(message(msg_type, NLM_F_ACK, *attrs, family=FAMILIES[self.family]))
        struct.pack_into("=I", data, 8, seq)
        sock.sendto(bytes(data), (0, 0))
        sock.settimeout(10)
        reply = None
        while True:
            for mtype, mseq, msg in messages(sock.recv(1 << 20)):
                if mseq == seq:
                    if mtype == NLMSG_ERROR:
                        (err,) = struct.unpack_from("=i", msg, 16)
                        if err == 0:
                            return reply
                        if missing_ok and err == -errno.ENOENT:
                            return None
                        raise NftError(f"nftables request failed: {os.strerror(-err)}")
                    reply = msg


def _ext_ack_text(msg: bytes) -> str:
    """The NLMSGERR_ATTR_MSG text of an extended ack, if any."""
    # nlmsghdr(16) + error(4) + original header(16, payload capped by CAP_ACK)
    off = 16 + 4 + 16
    while off + 4 <= len(msg):
        alen, atype = struct.unpack_from("=HH", msg, off)
        if alen < 4:
            break
        if atype == 1:  # NLMSGERR_ATTR_MSG
            return msg[off + 4:off + alen].rstrip(b"\0").decode(errors="replace")
        off += (alen + 3) & ~3
    return ""


def _describe(message: bytes) -> str:
    """A short description of an encoded message, for error reports."""
    mtype = struct.unpack_from("=H", message, 4)[0] & 0xFF
    names = {NFT_MSG_NEWTABLE: ("add table", nft_table_msg),
             NFT_MSG_DELTABLE: ("delete table", nft_table_msg),
             NFT_MSG_NEWCHAIN: ("add chain", nft_chain_msg),
             NFT_MSG_DELCHAIN: ("delete chain", nft_chain_msg),
             NFT_MSG_NEWRULE: ("add rule", nft_rule_msg),
             NFT_MSG_DELRULE: ("flush chain", nft_rule_msg),
             NFT_MSG_NEWSET: ("add set", nft_set_msg),
             NFT_MSG_NEWSETELEM: ("add elements", nft_set_elem_list_msg),
             NFT_MSG_DELSETELEM: ("delete elements", nft_set_elem_list_msg)}
    if mtype not in names:
        return f"message type {mtype}"
    what, cls = names[mtype]
    try:
        msg = cls(message)
        msg.decode()
        name = (msg.get_attr("NFTA_CHAIN_NAME") or msg.get_attr("NFTA_RULE_CHAIN")
                or msg.get_attr("NFTA_SET_NAME") or msg.get_attr("NFTA_SET_ELEM_LIST_SET")
                or msg.get_attr("NFTA_TABLE_NAME"))
    except Exception:  # noqa: BLE001 - a description must never fail
        name = "?"
    return f"{what} {name}"
