"""A pod's volumes on the node: set up before its sandbox starts, kept current
while it runs, torn down with its directory.

- configMap, secret, downwardAPI and projected volumes are written by the
  ``AtomicWriter`` from ``projection.payload``; ``refresh`` rewrites them when
  their source changed (a running container sees the new files; a ``subPath``
  mount keeps the file it started with).
- secret, downwardAPI and projected volumes and ``emptyDir`` with
  ``medium: Memory`` get a tmpfs of their own first, so secrets never touch the
  node's disk. The agent runs as root in the host's mount namespace (only the
  network namespace is the node's), so its mounts are the ones the node's
  dockerd binds into containers.
- ``teardown`` unmounts every tmpfs under the pod's directory (lazily: a
  container that still holds one does not block it) before removing it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from coxapi.kinds.persistentvolume import is_local_path, volume_path
from coxapi.quantity import QuantityError, parse_memory

from . import podspec, projection
from .atomicwriter import AtomicWriter
from .podspec import Resolver

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class Mounter(Protocol):
    def mount_tmpfs(self, path: str, size: int | None) -> None: ...
    def unmount(self, path: str) -> None: ...
    def is_mounted(self, path: str) -> bool: ...


class TmpfsMounter:
    """tmpfs mounts with mount(8)/umount(8); the agent runs as root."""

    def mount_tmpfs(self, path: str, size: int | None) -> None:
        opts = "mode=0755" + (f",size={size}" if size else "")
        _run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path])

    def unmount(self, path: str) -> None:
        _run(["umount", "-l", path])

    def is_mounted(self, path: str) -> bool:
        return os.path.ismount(path)


def _run(argv: list[str]) -> None:
    try:
        subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)
    except subprocess.CalledProcessError as e:
        raise projection.MountError(f"{' '.join(argv)}: {e.stderr.strip() or e}") from None
    except (OSError, subprocess.TimeoutExpired) as e:
        raise projection.MountError(f"{' '.join(argv)}: {e}") from None


def memory_limit(vol: Obj) -> int | None:
    """An emptyDir's ``sizeLimit`` in bytes, or None."""
    limit = (vol.get("emptyDir") or {}).get("sizeLimit")
    if limit in (None, ""):
        return None
    try:
        return parse_memory(limit)
    except QuantityError:
        return None


class CachedResolver:
    """Reads of ConfigMaps and Secrets for refreshes, shared by all pods of the
    node and at most ``ttl`` seconds old (kubelet's TTL cache strategy): a source
    read by many pods costs one GET per ``ttl``, not one per pod and pass."""

    def __init__(self, resolve: Resolver, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.resolve = resolve
        self.ttl = ttl
        self.clock = clock
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], tuple[float, Obj | None]] = {}

    def __call__(self, kind: str, namespace: str, name: str) -> Obj | None:
        key = (kind, namespace, name)
        now = self.clock()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        obj = self.resolve(kind, namespace, name)
        with self._lock:
            self._cache[key] = (now, obj)
            for k in [k for k, (t, _) in self._cache.items() if now - t >= 10 * self.ttl]:
                del self._cache[k]
        return obj


class VolumeManager:
    def __init__(self, data_dir: str, resolve: Resolver, mounter: Mounter,
                 allocatable: Mapping[str, str] | None = None,
                 refresh_period: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = data_dir
        self.resolve = resolve
        self.cached = CachedResolver(resolve, ttl=refresh_period / 2, clock=clock)
        self.mounter = mounter
        self.allocatable = dict(allocatable or {})
        self.refresh_period = refresh_period
        self.clock = clock
        self._refreshed: dict[str, float] = {}  # pod uid -> when its volumes were last written
        self._lock = threading.Lock()

    def setup(self, pod: Obj) -> None:
        """Create every volume of the pod; raises ``MountError`` naming the volume
        and source that is missing (the pod then waits in ContainerCreating)."""
        uid = pod["metadata"]["uid"]
        for vol in pod["spec"].get("volumes") or []:
            self._setup_one(pod, vol, self.resolve)
        with self._lock:
            self._refreshed[uid] = self.clock()

    def refresh(self, pod: Obj) -> None:
        """Rewrite the API volumes of a running pod whose sources changed, at most
        every ``refresh_period``. A source that went missing keeps the last files."""
        uid = pod["metadata"]["uid"]
        now = self.clock()
        with self._lock:
            last = self._refreshed.get(uid)
            if last is not None and now - last < self.refresh_period:
                return
            self._refreshed[uid] = now
        for vol in pod["spec"].get("volumes") or []:
            source = projection.api_source(vol)
            if source is None:
                continue
            try:
                self._write(pod, vol, source, self.cached)
            except (projection.MountError, OSError) as e:
                log.info("refreshing volume %s of pod %s: %s", vol.get("name"),
                         pod["metadata"].get("name"), e)

    def _setup_one(self, pod: Obj, vol: Obj, resolve: Resolver) -> None:
        uid, name = pod["metadata"]["uid"], vol["name"]
        try:
            source = projection.api_source(vol)
            if source is not None:
                path = podspec.api_volume_path(self.data_dir, uid, source, name)
                os.makedirs(path, exist_ok=True)
                if source in projection.TMPFS_SOURCES and not self.mounter.is_mounted(path):
                    self.mounter.mount_tmpfs(path, None)
                self._write(pod, vol, source, resolve)
            elif "emptyDir" in vol:
                path = podspec.empty_dir_path(self.data_dir, uid, name)
                os.makedirs(path, exist_ok=True)
                if (vol.get("emptyDir") or {}).get("medium") == "Memory" \
                        and not self.mounter.is_mounted(path):
                    self.mounter.mount_tmpfs(path, memory_limit(vol))
            elif vol.get("persistentVolumeClaim") is not None:
                self._link_claim(pod, vol, resolve)
            elif "hostPath" in vol and vol["hostPath"].get("type") == "DirectoryOrCreate":
                os.makedirs(vol["hostPath"]["path"], exist_ok=True)
        except projection.MountError as e:
            raise projection.MountError(
                f'MountVolume.SetUp failed for volume "{name}" : {e}') from None
        except OSError as e:
            raise projection.MountError(
                f'MountVolume.SetUp failed for volume "{name}" : {e}') from None

    def _link_claim(self, pod: Obj, vol: Obj, resolve: Resolver) -> None:
        """Point the pod's claim link at the bound volume's directory (a
        local-path volume's directory is made on first use)."""
        ns, name = pod["metadata"].get("namespace") or "default", \
            vol["persistentVolumeClaim"]["claimName"]
        claim = resolve("PersistentVolumeClaim", ns, name)
        if claim is None:
            raise projection.MountError(f'persistentvolumeclaim "{name}" not found')
        pv_name = (claim.get("spec") or {}).get("volumeName")
        if not pv_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise projection.MountError(f'persistentvolumeclaim "{name}" is not bound')
        pv = resolve("PersistentVolume", "", pv_name)
        path = volume_path(pv) if pv is not None else None
        if path is None:
            raise projection.MountError(f'persistentvolume "{pv_name}" not found')
        if pv is not None and is_local_path(pv):
            os.makedirs(path, exist_ok=True)
            os.chmod(path, 0o777)  # any container user may write, as local-path-provisioner
        elif not os.path.isdir(path):
            raise projection.MountError(f'persistentvolume "{pv_name}": {path} is not a '
                                        "directory on this node")
        link = podspec.claim_link_path(self.data_dir, pod["metadata"]["uid"], vol["name"])
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if os.path.islink(link) and os.readlink(link) == path:
            return
        tmp = link + ".tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(path, tmp)
        os.replace(tmp, link)

    def _write(self, pod: Obj, vol: Obj, source: str, resolve: Resolver) -> None:
        path = podspec.api_volume_path(self.data_dir, pod["metadata"]["uid"], source,
                                       vol["name"])
        if source in projection.TMPFS_SOURCES and not self.mounter.is_mounted(path):
            raise projection.MountError(f"{path} is not on tmpfs")  # never write it to disk
        files = projection.payload(pod, vol, resolve, self.allocatable)
        if AtomicWriter(path).write(files):
            log.debug("volume %s of pod %s written", vol["name"], pod["metadata"].get("name"))

    def teardown(self, uid: str) -> None:
        """Unmount the pod's tmpfs volumes, then remove its directory."""
        with self._lock:
            self._refreshed.pop(uid, None)
        root = podspec.pod_dir(self.data_dir, uid)
        volumes = os.path.join(root, "volumes")
        if os.path.isdir(volumes):
            for source in os.listdir(volumes):
                sdir = os.path.join(volumes, source)
                for name in os.listdir(sdir) if os.path.isdir(sdir) else []:
                    path = os.path.join(sdir, name)
                    if self.mounter.is_mounted(path):
                        try:
                            self.mounter.unmount(path)
                        except projection.MountError as e:
                            log.warning("unmounting %s: %s", path, e)
                            return  # never rm -rf through a mount we could not remove
        shutil.rmtree(root, ignore_errors=True)
