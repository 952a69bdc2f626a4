"""Namespace rules: objects live only in namespaces that exist and are not
being deleted; the system namespaces exist from the start (that they cannot be
deleted is the Namespace strategy's rule, ``coxapi.kinds.namespace``)."""

from __future__ import annotations

import logging
import threading

from coxapi import errors, meta

from ..objects import Obj, ObjectStore

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-node-lease")


def check_writable(objects: ObjectStore, namespace: str, kind_plural: str, name: str) -> None:
    """Raise NotFound if ``namespace`` does not exist, Forbidden if it is terminating."""
    ns = _namespace(objects, namespace)
    if meta.is_terminating(ns) or (ns.get("status") or {}).get("phase") == "Terminating":
        raise errors.Forbidden(
            f'{kind_plural} "{name}" is forbidden: unable to create new content in namespace '
            f"{namespace} because it is being terminated",
            {"name": name, "kind": kind_plural,
             "causes": [{"reason": "NamespaceTerminating", "field": "metadata.namespace",
                         "message": f"namespace {namespace} is being terminated"}]})


def _namespace(objects: ObjectStore, namespace: str) -> Obj:
    """This replica's copy of the namespace; one it lacks is confirmed by a
    linearizable read before the answer is NotFound."""
    try:
        return objects.get_local_first("Namespace", None, namespace)
    except errors.NotFound:
        raise errors.NotFound(f'namespaces "{namespace}" not found',
                              {"name": namespace, "kind": "namespaces"}) from None


def ensure_system_namespaces(objects: ObjectStore, stop: threading.Event | None = None,
                             retry_interval: float = 1.0) -> None:
    """Create the system namespaces if missing; safe on every master at once
    (AlreadyExists is success). Retries while the store has no quorum."""
    pending = list(SYSTEM_NAMESPACES)
    while pending:
        name = pending[0]
        try:
            objects.create({"apiVersion": "v1", "kind": "Namespace",
                            "metadata": {"name": name},
                            "spec": {"finalizers": ["kubernetes"]},
                            "status": {"phase": "Active"}})
            log.info("created namespace %s", name)
        except errors.AlreadyExists:
            pass
        except errors.ApiError as e:
            log.info("cannot create namespace %s yet: %s", name, e)
            if stop is None:
                raise
            if stop.wait(retry_interval):
                return
            continue
        pending.pop(0)
