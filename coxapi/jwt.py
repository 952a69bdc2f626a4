"""Compact JWTs signed with Ed25519 (``alg: EdDSA``, RFC 8037), with the
``cryptography`` package: masters sign (tokens for node agents, ServiceAccount
tokens); anyone holding the public keys (a JWKS, ``/openid/v1/jwks``) verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

Claims = dict[str, Any]
# What a master writes in ``aud`` of a token for node NAME's agent.
NODE_AUDIENCE = "coxswain:node:{}"


class InvalidToken(ValueError):
    pass


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    return b64url(hashlib.sha256(raw_public(key)).digest()[:16])


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw_public(key)), "kid": key_id(key),
            "use": "sig", "alg": "EdDSA"}


def public_keys(jwks: Any) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWKS document, by key id (others are skipped)."""
    out = {}
    items = jwks.get("keys") if isinstance(jwks, dict) else None
    for k in items if isinstance(items, list) else []:
        if isinstance(k, dict) and k.get("kty") == "OKP" and k.get("crv") == "Ed25519":
            try:
                out[str(k.get("kid"))] = Ed25519PublicKey.from_public_bytes(unb64url(k["x"]))
            except (KeyError, ValueError, TypeError):
                continue
    return out


def sign(key: Ed25519PrivateKey, claims: Claims) -> str:
    header = {"alg": "EdDSA", "typ": "JWT", "kid": key_id(key.public_key())}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                     + b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(key.sign(signing_input.encode()))


def verify(token: str, keys: dict[str, Ed25519PublicKey], now: float,
           audience: str | None = None) -> Claims:
    """The claims of a valid token: signed by one of ``keys``, not expired,
    for ``audience`` when given. Raises ``InvalidToken`` otherwise."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, TypeError) as e:
        raise InvalidToken("malformed JWT") from e
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or not isinstance(claims, dict):
        raise InvalidToken("not an EdDSA JWT")
    key = keys.get(str(header.get("kid")))
    if key is None:
        raise InvalidToken("signed by an unknown key")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise InvalidToken("bad signature") from None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or now >= exp:
        raise InvalidToken("expired")
    if audience is not None:
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if audience not in auds:
            raise InvalidToken("not for this audience")
    return claims
