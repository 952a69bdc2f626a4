"""``FakeRuntime``'s interactive processes: a socket pair and a thread that
plays a few commands the way a shell in a container would, with Docker's
stream framing (no TTY) or a raw stream (TTY).

``echo ARGS…`` prints them; ``cat`` copies stdin until it ends; ``readline``
copies its first line; ``sh -c 'exit N'`` exits N; ``yes N`` prints N bytes;
anything else is ``not found`` (127).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable

from coxapi.streamproto import DockerDemux

from .runtime import ExecProcess


def start(cmd: list[str], tty: bool) -> ExecProcess:
    ours, theirs = socket.socketpair()
    result: dict[str, int] = {}
    sizes: list[tuple[int, int]] = []

    def write(stream: int, data: bytes) -> None:
        ours.sendall(data if tty else DockerDemux.encode(stream, data))

    def run() -> None:
        try:
            result["code"] = _play(cmd, ours, write)
        except OSError:
            result["code"] = 137
        finally:
            ours.close()

    threading.Thread(target=run, name="fake-exec", daemon=True).start()
    return ExecProcess(sock=theirs, resize=lambda w, h: sizes.append((w, h)),
                       exit_code=lambda: result.get("code"), keep=sizes, raw=tty)


def _play(cmd: list[str], sock: socket.socket, write: Callable[[int, bytes], None]) -> int:
    if cmd[:1] == ["echo"]:
        write(1, (" ".join(cmd[1:]) + "\n").encode())
        return 0
    if cmd[:1] == ["cat"]:
        while data := sock.recv(65536):
            write(1, data)
        return 0
    if cmd[:1] == ["readline"]:  # the first line of stdin, without waiting for its end
        line = b""
        while not line.endswith(b"\n") and (data := sock.recv(1)):
            line += data
        write(1, line)
        return 0
    if cmd[:1] == ["yes"]:
        left = int(cmd[1])
        while left > 0:
            n = min(left, 65536)
            write(1, b"y" * n)
            left -= n
        return 0
    if cmd[:2] == ["sh", "-c"] and cmd[2].startswith("exit "):
        write(2, b"exiting\n")
        return int(cmd[2].split()[1])
    write(2, f"{cmd[0]}: not found\n".encode())
    return 127
