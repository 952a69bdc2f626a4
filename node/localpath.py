"""The node's half of the local-path provisioner: volume directories live under
``<data dir>/local-path/<pv name>`` (made by node/volumes.py when a pod first
mounts the claim); a directory whose PersistentVolume is gone (deleted after its
claim went, ``reclaimPolicy: Delete``) is removed here."""

from __future__ import annotations

import logging
import os
import shutil
import threading

from coxapi import errors
from coxapi.client import Client
from coxapi.kinds.persistentvolume import is_local_path, volume_path

log = logging.getLogger(__name__)


def stale(root: str, before: list[str], volumes: list[dict]) -> list[str]:
    """Of the directories ``before`` (listed under ``root`` before ``volumes``
    were), those no local-path volume of this root uses."""
    used = {volume_path(pv) for pv in volumes if is_local_path(pv)}
    return [os.path.join(root, d) for d in before if os.path.join(root, d) not in used]


def reclaim_once(client: Client, root: str) -> list[str]:
    """Remove the stale directories; returns them. Directories are listed before
    the volumes, so a directory made for a volume created meanwhile is kept."""
    try:
        before = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    if not before:
        return []
    volumes = client.list("PersistentVolume")["items"]  # a consistent read
    gone = stale(root, before, volumes)
    for path in gone:
        shutil.rmtree(path, ignore_errors=True)
        log.info("removed the directory of deleted volume %s", os.path.basename(path))
    return gone


def run_reclaimer(client: Client, root: str, stop: threading.Event, period: float) -> None:
    while not stop.wait(period):
        try:
            reclaim_once(client, root)
        except (errors.ApiError, errors.ClusterUnreachable, OSError) as e:
            log.info("reclaiming local-path volumes: %s", e)
