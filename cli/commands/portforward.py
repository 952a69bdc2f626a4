"""``cox port-forward``: listen on local ports and carry each connection to a
port of a pod, through the master (one WebSocket per connection, in the
port-forward channel protocol: coxapi.streamproto)."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading

import click
from websockets.exceptions import ConnectionClosed

from coxapi import errors, execclient
from coxapi import streamproto as sp
from coxapi.client import Client

from ..errors import UsageFailure
from .context import CliContext, namespace_option, pass_cli


def parse_port_spec(spec: str) -> tuple[int, int]:
    """``[LOCAL:]REMOTE`` as (local, remote); LOCAL empty or 0: any free port."""
    local, sep, remote = spec.rpartition(":")
    try:
        ports = (int(local) if local else (0 if sep else int(remote)), int(remote))
    except ValueError:
        raise UsageFailure(f"{spec}: ports are [LOCAL:]REMOTE numbers") from None
    if not 0 <= ports[0] <= 65535 or not 1 <= ports[1] <= 65535:
        raise UsageFailure(f"{spec}: a port is between 1 and 65535")
    return ports


def relay(client: Client, namespace: str, pod: str, port: int, conn: socket.socket) -> None:
    """Carry one local connection until either side ends."""
    try:
        ws = execclient.open_stream(client, execclient.forward_path(namespace, pod, port),
                                    sp.PORTFORWARD_PROTOCOLS)
    except (errors.ApiError, errors.ClusterUnreachable) as e:
        click.echo(f"error: {e}", err=True)
        conn.close()
        return

    def upstream() -> None:
        with contextlib.suppress(OSError, ConnectionClosed):
            while data := conn.recv(1 << 16):
                ws.send(sp.frame(0, data))
        ws.close()

    threading.Thread(target=upstream, name="forward-up", daemon=True).start()
    opened: set[int] = set()  # the channels whose port prefix has been read
    with ws, contextlib.suppress(OSError, ConnectionClosed):
        for message in ws:
            if not isinstance(message, bytes) or not message:
                continue
            channel, data = sp.unframe(message)
            if channel not in opened:
                opened.add(channel)
                data = data[2:]
            if channel == 0 and data:
                conn.sendall(data)
            elif channel == 1 and data:
                click.echo(data.decode(errors="replace"), err=True)
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)
    conn.close()


@click.command("port-forward")
@click.argument("pod", metavar="POD")
@click.argument("ports", nargs=-1, required=True, metavar="[LOCAL:]REMOTE...")
@namespace_option
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Local address to listen on.")
@pass_cli
def port_forward(cli: CliContext, pod: str, ports: tuple[str, ...], namespace: str | None,
                 address: str) -> None:
    """Forward local ports to a pod's ports until interrupted.

    \b
    Examples:
      cox port-forward web-6c9f 8080
      cox port-forward pod/web-6c9f 9000:8080 :9090
    """
    kind, sep, name = pod.rpartition("/")
    if sep and kind not in ("pod", "pods", "po"):
        raise UsageFailure(f"cox port-forward reaches pods, not {kind}")
    ns, client = cli.namespace_for(namespace), cli.client()
    listeners: list[tuple[socket.socket, int]] = []
    for local, remote in map(parse_port_spec, ports):
        s = socket.create_server((address, local), reuse_port=False)
        listeners.append((s, remote))
        click.echo(f"Forwarding from {address}:{s.getsockname()[1]} -> {remote}")
    sys.stdout.flush()

    def accept(listener: socket.socket, remote: int) -> None:
        while True:
            conn, _ = listener.accept()
            click.echo(f"Handling connection for {remote}")
            threading.Thread(target=relay, args=(client, ns, name, remote, conn),
                             name="forward", daemon=True).start()

    threads = [threading.Thread(target=accept, args=pair, daemon=True) for pair in listeners]
    for t in threads:
        t.start()
    with contextlib.suppress(KeyboardInterrupt):
        for t in threads:
            t.join()
