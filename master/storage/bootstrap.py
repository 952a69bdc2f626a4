"""The default StorageClass ``local-path`` exists from the start (created by
every master at start-up, like the system namespaces; AlreadyExists is success)."""

from __future__ import annotations

import logging
import threading

from coxapi import errors

from ..objects import ObjectStore
from .localpath import default_class

log = logging.getLogger(__name__)


def ensure_default_storage_class(objects: ObjectStore, stop: threading.Event | None = None,
                                 retry_interval: float = 1.0) -> None:
    """Create the ``local-path`` class if missing; retries while the store has no quorum."""
    while True:
        try:
            objects.create(default_class())
            log.info("created the default StorageClass")
            return
        except errors.AlreadyExists:
            return
        except errors.ApiError as e:
            log.info("cannot create the default StorageClass yet: %s", e)
            if stop is None:
                raise
            if stop.wait(retry_interval):
                return
