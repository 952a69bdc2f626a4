"""The channel protocol of Kubernetes' exec and attach over WebSocket, as
kubectl 1.32 speaks it (``v5.channel.k8s.io``, ``v4.channel.k8s.io``): every
binary message starts with its channel byte (0 stdin, 1 stdout, 2 stderr,
3 error: one Status at the end, 4 resize: ``{"Width":…,"Height":…}``); v5
adds the close signal ``[255, channel]`` (how a client says stdin has ended).

Also Docker's stream multiplexing (an 8-byte header per frame when the
process has no TTY), parsed here so the I/O around it stays thin. Pure: no
sockets, no clocks.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import errors

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE = 255  # v5: [CLOSE, channel] closes that channel
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)  # in order of preference


def negotiate(offered: Iterable[str]) -> str | None:
    """The subprotocol to answer with, of those the client offered; None when
    it offered none this server speaks."""
    wanted = {p.strip() for p in offered}
    return next((p for p in PROTOCOLS if p in wanted), None)


def offered(header: str | None) -> list[str]:
    """The protocols of a ``Sec-WebSocket-Protocol`` header."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def frame(channel: int, data: bytes) -> bytes:
    return bytes((channel,)) + data


def unframe(message: bytes) -> tuple[int, bytes]:
    """(channel, data) of one message; an empty message is invalid."""
    if not message:
        raise ValueError("an empty message names no channel")
    return message[0], message[1:]


def close_signal(channel: int) -> bytes:
    return bytes((CLOSE, channel))


def closed_channel(message: bytes) -> int | None:
    """The channel a v5 close signal closes, or None when it is not one."""
    return message[1] if len(message) == 2 and message[0] == CLOSE else None


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The error channel's Status for a finished process: kubectl exits with
    ``code`` (it reads the ``ExitCode`` cause)."""
    if code == 0:
        return success()
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"{command}, exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


def failure(message: str, reason: str = "InternalError", code: int = 500) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason,
            "code": code}


def exit_code(status: Mapping[str, Any]) -> int | None:
    """The exit code a Status from the error channel reports: 0 for Success,
    the ``ExitCode`` cause for NonZeroExitCode, None for any other failure."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message", ""))
                except ValueError:
                    return None
    return None


def resize(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message, None when it is not one."""
    try:
        doc = json.loads(data)
        width, height = int(doc["Width"]), int(doc["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def resize_message(width: int, height: int) -> bytes:
    return frame(RESIZE, json.dumps({"Width": width, "Height": height}).encode())


@dataclass(frozen=True)
class ExecOptions:
    command: list[str]
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool
    container: str | None


def _flag(query: Mapping[str, list[str]], name: str) -> bool:
    values = query.get(name) or []
    return bool(values) and values[0].lower() in ("true", "1")


def exec_options(query: Mapping[str, list[str]], need_command: bool = True) -> ExecOptions:
    """The options of an exec (or, without a command, attach) request; a bad
    combination is a 400 naming it."""
    opts = ExecOptions(command=list(query.get("command") or []), stdin=_flag(query, "stdin"),
                       stdout=_flag(query, "stdout"), stderr=_flag(query, "stderr"),
                       tty=_flag(query, "tty"), container=next(iter(query.get("container") or []),
                                                               None))
    if need_command and not opts.command:
        raise errors.BadRequest("command: you must specify at least one command for the "
                                "container")
    if not (opts.stdin or opts.stdout or opts.stderr):
        raise errors.BadRequest("stdin, stdout, stderr: you must specify at least one of "
                                "stdin, stdout, stderr")
    if opts.tty and opts.stderr:
        raise errors.BadRequest("stderr: tty and stderr cannot both be true")
    return opts


class DockerDemux:
    """Docker's multiplexed exec/attach stream (no TTY): frames of an 8-byte
    header (stream byte, 3 zero bytes, big-endian uint32 size) and a payload.
    ``feed`` returns the complete frames' (channel, data); a partial frame
    waits for the next call."""

    _HEADER = struct.Struct(">BxxxL")

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buf += data
        out: list[tuple[int, bytes]] = []
        while len(self._buf) >= self._HEADER.size:
            stream, size = self._HEADER.unpack_from(self._buf)
            end = self._HEADER.size + size
            if len(self._buf) < end:
                break
            payload = bytes(self._buf[self._HEADER.size:end])
            del self._buf[:end]
            if payload:
                out.append((STDERR if stream == 2 else STDOUT, payload))
        return out

    @classmethod
    def encode(cls, stream: int, data: bytes) -> bytes:
        """A frame as Docker writes it (for tests and fakes)."""
        return cls._HEADER.pack(stream, len(data)) + data


# ---- port-forward (the WebSocket protocol of pods/NAME/portforward) ----------
# One WebSocket carries one connection to each port the query names
# (``ports=8080,9090`` or repeated): port i has data channel 2i and error
# channel 2i+1; the first message on each channel is its port, 2 bytes little-endian.
PORTFORWARD_PROTOCOLS = (V4, "portforward.k8s.io")


def forward_ports(query: Mapping[str, list[str]]) -> list[int]:
    """The ports a port-forward asks for; a 400 naming ``ports`` when bad."""
    raw = [p.strip() for value in query.get("ports") or [] for p in value.split(",")]
    if not raw or any(not p for p in raw):
        raise errors.BadRequest("ports: at least one port is needed (ports=8080)")
    try:
        ports = [int(p) for p in raw]
    except ValueError:
        raise errors.BadRequest(f"ports: {','.join(raw)} are not port numbers") from None
    bad = [p for p in ports if not 1 <= p <= 65535]
    if bad:
        raise errors.BadRequest(f"ports: {bad[0]} is not between 1 and 65535")
    return ports


def port_prefix(port: int) -> bytes:
    return port.to_bytes(2, "little")


def channel_port(data: bytes) -> int:
    return int.from_bytes(data[:2], "little")
