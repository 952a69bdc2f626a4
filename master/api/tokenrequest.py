"""TokenRequest (``POST .../serviceaccounts/NAME/token``): a token for a
ServiceAccount, bound to a pod when the request names one (a node must name
a pod bound to it). What the Flask handler (master.api.resources) and the
direct path (master.api.directtoken) both answer; no Flask here.

The account and the pod come from this replica when it has them (see
``ObjectStore.get_local_first``): a token for a pod this master has just seen
bound costs no Raft read, as a node agent asks for one for every pod it starts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from coxapi import errors, kinds
from coxapi.timefmt import rfc3339

from .. import serviceaccounts
from ..auth import User
from . import authz, paths
from .state import ApiState

Obj = dict[str, Any]


def answer(st: ApiState, user: User | None, t: paths.Target, body: Obj) -> Obj:
    """The TokenRequest answered (its ``status.token``), or the ApiError why not."""
    given = body.get("spec")
    spec: Obj = given if isinstance(given, dict) else {}
    sa = st.objects.get_local_first(t.kind, t.namespace, t.object_name)
    seconds = spec.get("expirationSeconds")  # kubectl create token sends an unset one as null
    if seconds is None:
        seconds = serviceaccounts.DEFAULT_SECONDS
    if not isinstance(seconds, int) or isinstance(seconds, bool) \
            or not serviceaccounts.MIN_SECONDS <= seconds <= serviceaccounts.MAX_SECONDS:
        raise errors.Invalid.fields("TokenRequest", t.object_name, [(
            "spec.expirationSeconds", f"Invalid value: must be an integer from "
            f"{serviceaccounts.MIN_SECONDS} to {serviceaccounts.MAX_SECONDS}")])
    audiences = spec.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) for a in audiences):
        raise errors.Invalid.fields("TokenRequest", t.object_name,
                                    [("spec.audiences", "must be a list of strings")])
    pod = _bound_pod(st, user, t, spec.get("boundObjectRef"))
    token, exp = serviceaccounts.issue(st.signing, sa, pod, audiences, seconds,
                                       st.objects.clock())
    return {
        "kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"name": t.object_name, "namespace": t.namespace},
        "spec": {"audiences": audiences, "expirationSeconds": seconds,
                 "boundObjectRef": spec.get("boundObjectRef")},
        "status": {"token": token, "expirationTimestamp": rfc3339(
            datetime.fromtimestamp(exp, UTC))}}


def _bound_pod(st: ApiState, user: User | None, t: paths.Target, ref: Any) -> Obj | None:
    node = authz.node_name(user) if user is not None else None
    if ref is None:
        if node is not None:
            raise errors.Forbidden("a node may only request tokens bound to its pods")
        return None
    if not isinstance(ref, dict) or ref.get("kind") != kinds.lookup("pods").kind:
        raise errors.Invalid.fields("TokenRequest", t.object_name, [
            ("spec.boundObjectRef.kind", "Unsupported value: tokens bind to a Pod")])
    # A local copy that fails a check may predate the pod's binding or its
    # replacement: only the latest may refuse.
    pod = st.objects.get_local_first(
        "Pod", t.namespace, str(ref.get("name")),
        usable=lambda p: _unbindable(t, ref, node, p) is None)
    refusal = _unbindable(t, ref, node, pod)
    if refusal is not None:
        raise refusal
    return pod


def _unbindable(t: paths.Target, ref: Obj, node: str | None, pod: Obj) -> errors.ApiError | None:
    """Why a token for ``t``'s account may not be bound to ``pod``, if it may not."""
    pod_spec = pod.get("spec") or {}
    if ref.get("uid") not in (None, pod["metadata"]["uid"]) \
            or (pod_spec.get("serviceAccountName") or "default") != t.object_name:
        return errors.Conflict(f'pod "{pod["metadata"]["name"]}" does not run as serviceaccount '
                               f'"{t.object_name}" (or was replaced)')
    if node is not None and pod_spec.get("nodeName") != node:
        return errors.Forbidden(f"node {node} may only request tokens for pods bound to it")
    return None
