"""ServiceAccount tokens: issued by the TokenRequest API
(``POST .../serviceaccounts/NAME/token``), signed with the masters' shared
key (master.signing) so any master verifies them, and bound to a pod: the
token stops working once that pod is gone (or replaced under the same name),
as Kubernetes' bound service account tokens do.

Claims follow Kubernetes' (``sub: system:serviceaccount:NS:NAME`` and the
``kubernetes.io`` claim naming the namespace, account and pod), so in-cluster
clients and token reviewers read them the same way."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from coxapi import errors, jwt
from coxapi.rbac import service_account_groups, service_account_user

from .auth import User
from .objects import ObjectStore
from .signing import ISSUER, SigningKey

Obj = dict[str, Any]
DEFAULT_SECONDS = 3600
MIN_SECONDS = 600
MAX_SECONDS = 366 * 24 * 3600  # what Kubernetes extends node-mounted tokens to


def issue(signing: SigningKey, sa: Obj, pod: Obj | None, audiences: list[str],
          seconds: int, now: float) -> tuple[str, int]:
    """A token for ``sa`` (bound to ``pod`` when given) and its expiry (epoch seconds)."""
    meta = sa["metadata"]
    ns = meta["namespace"]
    exp = int(now) + seconds
    claim: Obj = {"namespace": ns, "serviceaccount": {"name": meta["name"], "uid": meta["uid"]}}
    if pod is not None:
        claim["pod"] = {"name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
    token = signing.sign({"iss": ISSUER, "sub": service_account_user(ns, meta["name"]),
                          "aud": audiences or [ISSUER], "iat": int(now), "nbf": int(now),
                          "exp": exp, "kubernetes.io": claim})
    return token, exp


class ServiceAccountAuthenticator:
    """Authenticates a bearer token the masters issued, while its account (and
    bound pod) still exist with the uids it names. Reads are this master's
    replica: a deletion takes effect here within the replication delay."""

    def __init__(self, signing: SigningKey, objects: ObjectStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.signing, self.objects, self.clock = signing, objects, clock

    def _exists(self, kind: str, ns: str, ref: Any) -> bool:
        if not isinstance(ref, dict):
            return False
        try:
            obj = self.objects.get(kind, ns, str(ref.get("name")), linearizable=False)
        except errors.NotFound:
            return False
        return obj["metadata"].get("uid") == ref.get("uid")

    def authenticate(self, authorization: str | None) -> User | None:
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return None
        try:
            claims = self.signing.verify(token, self.clock(), audience=ISSUER)
        except jwt.InvalidToken:
            return None
        k8s = claims.get("kubernetes.io")
        if not isinstance(k8s, dict) or not isinstance(k8s.get("namespace"), str):
            return None  # signed by us but not an account's (a node's log token)
        ns, sa = k8s["namespace"], k8s.get("serviceaccount")
        if not self._exists("ServiceAccount", ns, sa):
            return None
        if "pod" in k8s and not self._exists("Pod", ns, k8s["pod"]):
            return None
        assert isinstance(sa, dict)
        return User(service_account_user(ns, str(sa["name"])), str(sa["uid"]),
                    service_account_groups(ns))



