"""``cox cp``: copy files and directories to and from a container, as kubectl
does: ``tar`` over exec (the image needs a ``tar``). A remote side is written
``[NAMESPACE/]POD:PATH``.

Into a pod: a tar stream of the local path, named as the destination's last
part, unpacked by ``tar -xmf - -C <destination's directory>``. Out of a
pod: ``tar cf - -C <dir> <name>``, unpacked here under the local
destination; only plain files and directories are written, and a name that
would land outside the destination is refused.
"""

from __future__ import annotations

import io
import os
import posixpath
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import click

from coxapi import execclient

from ..errors import CliError, UsageFailure
from .context import CliContext, pass_cli
from .exec_ import chunks


@dataclass(frozen=True)
class Remote:
    namespace: str | None
    pod: str
    path: str


def parse_spec(spec: str) -> Remote | None:
    """``[NS/]POD:PATH`` as a Remote, a local path as None."""
    head, sep, path = spec.partition(":")
    if not sep or not head or "/" in head.split("/", 1)[-1] or os.path.exists(spec):
        return None
    ns, _, pod = head.rpartition("/")
    if not path:
        raise UsageFailure(f"{spec}: a remote path is needed after the colon")
    return Remote(ns or None, pod, path)


def remote_split(path: str) -> tuple[str, str]:
    """(directory, last part) of a remote path; the directory is absolute or
    relative to the container's working directory."""
    path = posixpath.normpath(path)
    parent, name = posixpath.split(path)
    if name in ("", ".", "..") or path == "/":
        raise UsageFailure(f"{path}: name a file or directory to copy, not {path!r}")
    return parent or ".", name


def local_target(dest: Path, top: str, member: str) -> Path | None:
    """Where a member of a downloaded archive goes: ``top`` (the copied name)
    becomes ``dest``; None for a name outside it."""
    parts = Path(posixpath.normpath(member)).parts
    if not parts or parts[0] != top or ".." in parts or posixpath.isabs(member):
        return None
    return dest.joinpath(*parts[1:])


def write_tar(src: Path, name: str, out: BinaryIO) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(str(src), arcname=name)


def extract(stream: BinaryIO, dest: Path, top: str) -> list[str]:
    """Unpack a tar stream under ``dest``; the names skipped (links, devices,
    names escaping ``dest``)."""
    skipped: list[str] = []
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            target = local_target(dest, top, member.name)
            if target is None or not (member.isdir() or member.isfile()):
                skipped.append(member.name)
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            data = tar.extractfile(member)
            assert data is not None  # a regular file has contents
            with open(target, "wb") as f:
                while block := data.read(1 << 16):
                    f.write(block)
            target.chmod(member.mode & 0o777)
    return skipped


@click.command()
@click.argument("src")
@click.argument("dest")
@click.option("-c", "--container", default=None, help="Container (needed if the pod has several).")
@pass_cli
def cp(cli: CliContext, src: str, dest: str, container: str | None) -> None:
    """Copy files and directories to and from containers (needs tar in the image).

    \b
    Examples:
      cox cp ./site web-6c9f:/www
      cox cp prod/web-6c9f:/var/log/app.log ./app.log
    """
    remote_src, remote_dest = parse_spec(src), parse_spec(dest)
    if (remote_src is None) == (remote_dest is None):
        raise UsageFailure("one of SRC and DEST must be a pod path ([NAMESPACE/]POD:PATH), "
                           "the other local")
    if remote_dest is not None:
        _upload(cli, Path(src), remote_dest, container)
    else:
        assert remote_src is not None
        _download(cli, remote_src, Path(dest), container)


def _run(cli: CliContext, remote: Remote, command: list[str], container: str | None,
         stdin: BinaryIO | None, stdout: BinaryIO) -> None:
    path = execclient.exec_path(cli.namespace_for(remote.namespace), remote.pod, command,
                                container=container, stdin=stdin is not None)
    errors = io.BytesIO()
    conn = execclient.open_stream(cli.client(), path)
    code = execclient.run(conn, chunks(stdin.fileno()) if stdin is not None else None,
                          stdout, errors)
    if code != 0:
        raise CliError(f"{' '.join(command[:2])} in the container exited {code}: "
                       f"{errors.getvalue().decode(errors='replace').strip()}")


def _upload(cli: CliContext, src: Path, remote: Remote, container: str | None) -> None:
    if not src.exists():
        raise UsageFailure(f"{src}: no such file or directory")
    parent, name = remote_split(remote.path)
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        def produce() -> None:
            with os.fdopen(w, "wb") as writer:
                write_tar(src, name, writer)
        t = threading.Thread(target=produce, name="cp-tar", daemon=True)
        t.start()
        _run(cli, remote, ["tar", "-xmf", "-", "-C", parent], container, reader,
             io.BytesIO())
        t.join()


def _download(cli: CliContext, remote: Remote, dest: Path, container: str | None) -> None:
    parent, name = remote_split(remote.path)
    r, w = os.pipe()
    skipped: list[str] = []
    failed: list[BaseException] = []

    def consume() -> None:
        try:
            with os.fdopen(r, "rb") as reader:
                skipped.extend(extract(reader, dest, name))
                while reader.read(1 << 16):  # tar's padding after the end marker
                    pass
        except (tarfile.TarError, OSError) as e:
            failed.append(e)
    t = threading.Thread(target=consume, name="cp-untar", daemon=True)
    t.start()
    with os.fdopen(w, "wb") as writer:
        _run(cli, remote, ["tar", "cf", "-", "-C", parent, name], container, None, writer)
    t.join()
    if failed:
        raise CliError(f"unpacking {remote.path}: {failed[0]}")
    for s in skipped:
        click.echo(f"skipped {s}: not a plain file or directory under {name}", err=True)
