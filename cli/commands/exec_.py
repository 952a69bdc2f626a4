"""``cox exec``: run a command in a pod's container, through the master, over
the WebSocket channel protocol kubectl speaks (coxapi.execclient); exits
with the command's exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
import tty as ttymod
from collections.abc import Iterator
from typing import Any

import click

from coxapi import execclient
from coxapi import streamproto as sp

from .context import CliContext, namespace_option, pass_cli

CHUNK = 32 * 1024


def chunks(fd: int) -> Iterator[bytes]:
    """What arrives on ``fd`` until its end, as soon as it arrives."""
    while data := os.read(fd, CHUNK):
        yield data


@contextlib.contextmanager
def raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        ttymod.setraw(fd, termios.TCSANOW)  # keeps what was typed before
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def split_pod(pod: str) -> str:
    kind, sep, name = pod.rpartition("/")
    if sep and kind not in ("pod", "pods", "po"):
        raise click.UsageError(f"cox exec runs in pods, not {kind}")
    return name


@click.command("exec")
@click.argument("pod", metavar="POD")
@click.argument("command", nargs=-1, required=True)
@namespace_option
@click.option("-c", "--container", default=None, help="Container (needed if the pod has several).")
@click.option("-i", "--stdin", "stdin", is_flag=True, help="Pass stdin to the command.")
@click.option("-t", "--tty", "tty", is_flag=True, help="Run the command in a terminal.")
@pass_cli
def exec_(cli: CliContext, pod: str, command: tuple[str, ...], namespace: str | None,
          container: str | None, stdin: bool, tty: bool) -> None:
    """Run a command in a container of a pod.

    \b
    Examples:
      cox exec web-6c9f -- ls /
      cox exec -it web-6c9f -- sh
      echo hi | cox exec -i web-6c9f -c app -- cat
    """
    if tty and not (stdin and sys.stdin.isatty()):
        if stdin:
            click.echo("Unable to use a TTY - input is not a terminal", err=True)
        tty = False
    path = execclient.exec_path(cli.namespace_for(namespace), split_pod(pod), list(command),
                                container=container, stdin=stdin, tty=tty)
    conn = execclient.open_stream(cli.client(), path)
    fd = sys.stdin.fileno()
    out, err = sys.stdout.buffer, sys.stderr.buffer

    def resize(*_: Any) -> None:
        size = os.get_terminal_size(fd)
        with contextlib.suppress(Exception):  # the stream may have ended meanwhile
            conn.send(sp.resize_message(size.columns, size.lines))

    if tty:
        signal.signal(signal.SIGWINCH, resize)
        with raw_terminal(fd):
            code = execclient.run(conn, chunks(fd), out, err, on_open=lambda _: resize())
    else:
        code = execclient.run(conn, chunks(fd) if stdin else None, out, err)
    raise click.exceptions.Exit(code)
