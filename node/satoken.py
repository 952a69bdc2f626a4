"""The ServiceAccount files of a pod: ``token``, ``namespace`` and, when the
cluster has a CA, ``ca.crt``, in one directory per pod that every container
gets read-only at /var/run/secrets/kubernetes.io/serviceaccount — where
in-cluster clients (``kubernetes.config.load_incluster_config``) look.

The token comes from the masters' TokenRequest API, bound to the pod (it
stops working when the pod is gone) and valid for a year, as Kubernetes
extends the tokens kubelets mount; it is fetched once per pod."""

from __future__ import annotations

import logging
import os
import shutil
from typing import Any

from coxapi import errors
from coxapi.client import Client

from . import podspec

log = logging.getLogger(__name__)
Obj = dict[str, Any]
TOKEN_SECONDS = 365 * 24 * 3600


def wanted(pod: Obj) -> bool:
    return (pod.get("spec") or {}).get("automountServiceAccountToken") is not False


def token_dir(data_dir: str, pod_uid: str) -> str:
    return os.path.join(podspec.pod_dir(data_dir, pod_uid), "serviceaccount")


def _write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def ensure(client: Client, pod: Obj, data_dir: str, ca_file: str = "") -> str | None:
    """The pod's ServiceAccount directory, written if missing; None when the
    pod wants no token or its account does not exist. Raises
    ``podspec.ConfigError`` when the masters cannot be asked."""
    if not wanted(pod):
        return None
    meta = pod["metadata"]
    ns, uid = meta.get("namespace") or "default", meta["uid"]
    d = token_dir(data_dir, uid)
    if os.path.exists(os.path.join(d, "token")):
        return d
    sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": TOKEN_SECONDS, "boundObjectRef": {
                "kind": "Pod", "apiVersion": "v1", "name": meta["name"], "uid": uid}}}
    try:
        answer = client.request("POST", f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                                body=body)
    except errors.NotFound:
        log.info("pod %s/%s: serviceaccount %s not found; no token mounted", ns, meta["name"], sa)
        return None
    except (errors.ApiError, errors.ClusterUnreachable) as e:
        raise podspec.ConfigError(f"requesting a token for serviceaccount {sa}: {e}") from None
    os.makedirs(d, mode=0o755, exist_ok=True)
    _write(os.path.join(d, "namespace"), ns.encode())
    if ca_file:
        shutil.copyfile(ca_file, os.path.join(d, "ca.crt"))
    _write(os.path.join(d, "token"), str(answer["status"]["token"]).encode())  # last: the marker
    return d
