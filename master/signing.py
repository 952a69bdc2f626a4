"""The masters' signing key: an Ed25519 key every master shares, kept as the
Secret ``kube-system/coxswain-signing-key`` (so it is encrypted at rest and
replicated like any Secret; nodes may not read it). Whichever master needs it
first creates it; a concurrent creator loses the compare-and-swap and reads
the winner's. Masters sign with it the tokens they send node agents (log
requests) and ServiceAccount tokens; ``/openid/v1/jwks`` publishes the public
half, which is all a node needs to verify them.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from coxapi import errors, jwt
from raftstore import nonblocking

from .objects import ObjectStore

NAMESPACE, NAME, FIELD = "kube-system", "coxswain-signing-key", "ed25519.pem"
ISSUER = "https://kubernetes.default.svc"  # as Kubernetes' default issuer
NODE_TOKEN_SECONDS = 60  # a log request's token: long enough to connect, then useless


def _secret(key: Ed25519PrivateKey) -> dict[str, Any]:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": NAME, "namespace": NAMESPACE},
            "data": {FIELD: base64.b64encode(pem).decode()}}


def _load(secret: dict[str, Any]) -> Ed25519PrivateKey:
    pem = base64.b64decode((secret.get("data") or {})[FIELD])
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{NAMESPACE}/{NAME} is not an Ed25519 key")
    return key


class SigningKey:
    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self._key: Ed25519PrivateKey | None = None
        self._lock = threading.Lock()

    def private(self) -> Ed25519PrivateKey:
        key = self._key
        if key is not None:
            return key
        # the lock is held across a Raft read or write: no waiting for it on the event loop
        nonblocking.check("loading the signing key")
        with self._lock:
            if self._key is None:
                self._key = self._load_or_create()
            return self._key

    def _load_or_create(self) -> Ed25519PrivateKey:
        try:
            return _load(self.objects.get("Secret", NAMESPACE, NAME))
        except errors.NotFound:
            pass
        try:
            self.objects.create(_secret(Ed25519PrivateKey.generate()))
        except errors.AlreadyExists:
            pass  # another master made it first: use that one
        return _load(self.objects.get("Secret", NAMESPACE, NAME))

    def sign(self, claims: jwt.Claims) -> str:
        return jwt.sign(self.private(), claims)

    def node_token(self, node: str, master: str) -> str:
        """What master ``master`` presents to node ``node``'s agent."""
        now = int(time.time())
        return self.sign({"iss": ISSUER, "sub": f"system:master:{master}",
                          "aud": jwt.NODE_AUDIENCE.format(node), "iat": now,
                          "exp": now + NODE_TOKEN_SECONDS})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwt.jwk(self.private().public_key())]}

    def verify(self, token: str, now: float, audience: str | None = None) -> jwt.Claims:
        public = self.private().public_key()
        return jwt.verify(token, {jwt.key_id(public): public}, now, audience)
