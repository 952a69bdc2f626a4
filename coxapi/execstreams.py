"""exec and attach over plain SPDY/3.1, as kubectl before 1.30 (and 1.30+ with
``KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false``) speaks it: the protocol version
chosen from ``X-Stream-Protocol-Version`` at the upgrade, then one client
stream per role, named by its ``streamType`` header: ``error`` (always; the
server writes the exit Status on it, as ``v4.channel.k8s.io`` says),
``stdin``, ``stdout``, ``stderr`` (not with a TTY) and ``resize`` (with a TTY:
``{"Width":…,"Height":…}`` JSON documents one after another). As the kubelet
does, output waits until every stream the options call for is there.

Each role is one channel of the WebSocket protocol (coxapi.streamproto), which
is how the master relays to the node agent. Pure: no sockets.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import errors, pfstreams
from . import streamproto as sp
from .spdy import Headers, first

VERSION_HEADER = "X-Stream-Protocol-Version"
EXEC_VERSIONS = (sp.V4,)  # v1-v3 carry the exit status differently; kubectl 1.27+ offers v4
FORWARD_VERSIONS = (pfstreams.PROTOCOL,)
ERROR, STDIN, STDOUT, STDERR, RESIZE = "error", "stdin", "stdout", "stderr", "resize"
CHANNEL = {ERROR: sp.ERROR, STDIN: sp.STDIN, STDOUT: sp.STDOUT, STDERR: sp.STDERR,
           RESIZE: sp.RESIZE}
OUTPUTS = (STDOUT, STDERR, ERROR)  # the streams the server writes on


def negotiate(offered: Sequence[str], spoken: Sequence[str]) -> str:
    """The first of the client's versions spoken here; a 400 naming the header if none."""
    chosen = next((v for v in offered if v in spoken), None)
    if chosen is None:
        raise errors.BadRequest(f"{VERSION_HEADER}: none of [{', '.join(offered)}] is spoken "
                                f"here; offer {', '.join(spoken)}")
    return chosen


def expected(opts: sp.ExecOptions) -> frozenset[str]:
    """The streams a client with these options opens (the kubelet's count)."""
    roles = {ERROR}
    if opts.stdin:
        roles.add(STDIN)
    if opts.stdout:
        roles.add(STDOUT)
    if opts.stderr and not opts.tty:
        roles.add(STDERR)
    if opts.tty:
        roles.add(RESIZE)
    return frozenset(roles)


@dataclass
class Streams:
    """The client's streams by role. ``open`` checks a new stream (a 400 naming
    the header when it is none of those expected, or a second of its role: the
    caller resets it)."""

    expected: frozenset[str]
    ids: dict[str, int] = field(default_factory=dict)

    def open(self, stream_id: int, headers: Headers) -> str:
        role = first(headers, "streamtype")
        if role not in self.expected:
            raise errors.BadRequest(f'streamType: "{role}" is not one of '
                                    f'{", ".join(sorted(self.expected))}')
        if role in self.ids:
            raise errors.BadRequest(f"streamType: a second {role} stream")
        self.ids[role] = stream_id
        return role

    @property
    def ready(self) -> bool:
        return self.expected <= self.ids.keys()

    def role(self, stream_id: int) -> str | None:
        return next((r for r, sid in self.ids.items() if sid == stream_id), None)

    def for_channel(self, channel: int) -> int | None:
        """The client stream an agent channel's bytes go to (stdout, stderr, error)."""
        role = next((r for r in OUTPUTS if CHANNEL[r] == channel), None)
        return self.ids.get(role) if role is not None else None

    def outputs(self) -> list[int]:
        return [self.ids[r] for r in OUTPUTS if r in self.ids]


class ResizeReader:
    """The resize stream's JSON documents, as the agent's resize messages
    (channel 4, one document each). A document split across frames waits."""

    def __init__(self) -> None:
        self._buf = ""
        self._decoder = json.JSONDecoder()

    def feed(self, data: bytes) -> list[bytes]:
        """Messages for the agent; ValueError when the stream is not such JSON."""
        self._buf += data.decode()
        out: list[bytes] = []
        while True:
            text = self._buf.lstrip()
            if not text:
                self._buf = ""
                return out
            try:
                doc, end = self._decoder.raw_decode(text)
            except json.JSONDecodeError:
                if text.startswith("{") and "}" not in text:
                    self._buf = text
                    return out  # the rest comes in a later frame
                raise ValueError(f"resize: not a JSON document: {text[:40]!r}") from None
            self._buf = text[end:]
            size = sp.resize(json.dumps(doc).encode())
            if size is None:
                raise ValueError(f"resize: {doc!r} is no {{Width, Height}} of positive numbers")
            out.append(sp.resize_message(*size))
