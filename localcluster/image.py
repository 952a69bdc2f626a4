"""The demo image, built from files on this machine and loaded into each node.

No registry is reachable, so ``coxswain/demo:latest`` is built from
``images/demo/`` plus Debian's static ``/bin/busybox`` in the first node's
dockerd (with no network), then copied to the others with ``docker save`` /
``docker load``. A label carries the digest of the build context, so a node
that already holds this exact image is left alone.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

import docker
import docker.errors

DIGEST_LABEL = "io.coxswain.demo.context-digest"
BUSYBOX = Path("/bin/busybox")
DEMO_DIR = Path(__file__).resolve().parents[1] / "images" / "demo"


class ImageError(RuntimeError):
    """The demo image could not be built or loaded."""


def context_files(demo_dir: Path = DEMO_DIR, busybox: Path = BUSYBOX) -> dict[str, Path]:
    """Build-context name -> file on disk."""
    if not busybox.is_file():
        raise ImageError(f"{busybox} not found: install Debian's busybox-static")
    files = {"Dockerfile": demo_dir / "Dockerfile", "start.sh": demo_dir / "start.sh",
             "busybox": busybox}
    for name, path in files.items():
        if not path.is_file():
            raise ImageError(f"demo image file {name} missing ({path})")
    return files


def digest(files: dict[str, Path]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0")
        h.update(files[name].read_bytes())
    return h.hexdigest()[:16]


def context_tar(files: dict[str, Path]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name in sorted(files):
            data = files[name].read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def has_image(c: docker.DockerClient, tag: str, want: str) -> bool:
    try:
        img = c.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return (img.labels or {}).get(DIGEST_LABEL) == want


def build(c: docker.DockerClient, tag: str, files: dict[str, Path]) -> None:
    want = digest(files)
    try:
        c.images.build(fileobj=io.BytesIO(context_tar(files)), custom_context=True, tag=tag,
                       labels={DIGEST_LABEL: want}, network_mode="none", rm=True,
                       forcerm=True, pull=False)
    except (docker.errors.BuildError, docker.errors.APIError) as e:
        raise ImageError(f"building {tag} failed: {e}") from None


def copy(src: docker.DockerClient, dst: docker.DockerClient, tag: str) -> None:
    try:
        dst.images.load(_joined(src.images.get(tag).save(named=True)))
    except docker.errors.DockerException as e:
        raise ImageError(f"loading {tag} failed: {e}") from None


def ensure(clients: Iterable[docker.DockerClient], tag: str,
           files: dict[str, Path] | None = None) -> list[str]:
    """Make every node hold the current demo image; returns what was done
    ("built", "loaded", "present") per client, in order."""
    files = files or context_files()
    want = digest(files)
    clients = list(clients)
    done = ["present" if has_image(c, tag, want) else "" for c in clients]
    source = next((c for c, d in zip(clients, done, strict=True) if d), None)
    for i, c in enumerate(clients):
        if done[i]:
            continue
        if source is None:
            build(c, tag, files)
            source, done[i] = c, "built"
        else:
            copy(source, c, tag)
            done[i] = "loaded"
    return done


def _joined(chunks: Iterable[bytes]) -> bytes:
    # The demo image is ~2 MB; holding it in memory keeps the transfer simple.
    return b"".join(chunks)
