"""The dashboard's session cookie, pure: self-contained, so that any master
opens it and a page keeps working after the master that logged it in is gone.

The cookie holds the user's bearer token, a random session id and an expiry,
sealed with AES-256-GCM under a key every master derives the same way from
the masters' shared signing key (master.signing): nobody without that key can
read or forge one. The token is checked again on every request, so a revoked
token ends its sessions at once. The CSRF token is an HMAC of the session id
(under another derived key): the page sends it back in a header, which a
cross-site form or image cannot.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

COOKIE = "coxswain-session"
PATH = "/ui/"
TTL_SECONDS = 8 * 3600
_AAD = b"coxswain-ui-session-v1"
_NONCE = 12


def derive_keys(signing: Ed25519PrivateKey) -> tuple[bytes, bytes]:
    """(sealing key, CSRF key), the same on every master."""
    raw = signing.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    out = HKDF(hashes.SHA256(), 64, salt=None, info=_AAD).derive(raw)
    return out[:32], out[32:]


@dataclass(frozen=True)
class Session:
    token: str
    sid: str
    expires: int


class Sealer:
    def __init__(self, seal_key: bytes, csrf_key: bytes, ttl: int = TTL_SECONDS) -> None:
        self._aead, self._csrf_key, self.ttl = AESGCM(seal_key), csrf_key, ttl

    def seal(self, token: str, now: float) -> str:
        payload = json.dumps({"t": token, "s": secrets.token_urlsafe(16),
                              "e": int(now) + self.ttl}).encode()
        nonce = os.urandom(_NONCE)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, payload, _AAD)
                                        ).decode().rstrip("=")

    def open(self, value: str, now: float) -> Session | None:
        """The session in a cookie value, or None when it is forged, damaged or expired."""
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            data = json.loads(self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], _AAD))
            s = Session(str(data["t"]), str(data["s"]), int(data["e"]))
        except (InvalidTag, ValueError, binascii.Error, KeyError, TypeError):
            return None
        return s if s.expires > now else None

    def csrf(self, s: Session) -> str:
        return hmac.new(self._csrf_key, s.sid.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, s: Session, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(self.csrf(s), header)


def set_cookie(value: str, ttl: int) -> str:
    return (f"{COOKIE}={value}; Path={PATH}; Max-Age={ttl}; HttpOnly; Secure; "
            "SameSite=Strict")


def clear_cookie() -> str:
    return f"{COOKIE}=; Path={PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict"


def cookie_value(header: str | None) -> str | None:
    """Our cookie's value in a ``Cookie`` header."""
    for part in (header or "").split(";"):
        k, _, v = part.strip().partition("=")
        if k == COOKIE and v:
            return v
    return None
