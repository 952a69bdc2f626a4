"""Encryption at rest of Secrets (and any resource listed), as Kubernetes'
EncryptionConfiguration does it: a YAML file lists providers in order; the
first one encrypts every write, and any of them decrypts a read.

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]
        providers:
          - aesgcm:
              keys:
                - {name: key2, secret: <base64 of 32 random bytes>}
                - {name: key1, secret: ...}
          - identity: {}

``aesgcm`` keys are AES-256-GCM keys: the first key encrypts, every key
decrypts. ``identity`` stores in clear (first: encryption off; later: values
written before encryption was turned on are still read). The master encrypts
before a value enters the Raft log, so the journal, the snapshot and every
replica hold only ciphertext; the storage key is authenticated with it, so a
value cannot be moved to another object's key.

Rotation (docs/security.md): add a new key *after* the current one and
restart every master (all can now read it); move it first and restart again
(new writes use it); rewrite every Secret (``cox secrets reencrypt``); then
the old key may be removed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets as pysecrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from coxapi import private
from raftstore.errors import StoreError

Obj = dict[str, Any]
# The stored form of an encrypted value: this one field holds
# "k8s:enc:aesgcm:v1:<key name>:<base64 of nonce + ciphertext>".
ENVELOPE = "x-coxswain-encrypted"
PREFIX = "k8s:enc:aesgcm:v1:"
KEY_BYTES = 32
NONCE_BYTES = 12
FILE_NAME = "encryption-config.yaml"


class EncryptionConfigError(ValueError):
    pass


class DecryptionError(StoreError):
    """A stored value that no configured key opens."""


@dataclass(frozen=True)
class Key:
    name: str
    secret: bytes


@dataclass(frozen=True)
class Transformer:
    """How values under ``prefixes`` are written and read. ``keys[0]``
    encrypts when ``encrypt`` is set; all ``keys`` decrypt."""

    prefixes: tuple[str, ...] = ()
    keys: tuple[Key, ...] = ()
    encrypt: bool = False

    def applies(self, key: str) -> bool:
        return key.startswith(self.prefixes) if self.prefixes else False

    def seal(self, key: str, value: Obj) -> Obj:
        if not self.encrypt or not self.applies(key):
            return value
        k = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        plain = _json(value)
        box = AESGCM(k.secret).encrypt(nonce, plain, key.encode())
        return {ENVELOPE: f"{PREFIX}{k.name}:{base64.b64encode(nonce + box).decode()}"}

    def open(self, key: str, value: Obj) -> Obj:
        text = value.get(ENVELOPE) if isinstance(value, dict) else None
        if not isinstance(text, str):
            return value  # written in clear (identity, or before encryption was on)
        if not text.startswith(PREFIX):
            raise DecryptionError(f"{key}: unknown encryption format")
        name, _, blob = text[len(PREFIX):].partition(":")
        k = next((k for k in self.keys if k.name == name), None)
        if k is None:
            raise DecryptionError(f"{key}: encrypted with key {name!r}, which is not configured")
        try:
            raw = base64.b64decode(blob, validate=True)
            plain = AESGCM(k.secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], key.encode())
        except (binascii.Error, ValueError, InvalidTag) as e:
            raise DecryptionError(f"{key}: cannot decrypt with key {name!r}") from e
        out = json.loads(plain)
        if not isinstance(out, dict):
            raise DecryptionError(f"{key}: decrypted value is not an object")
        return out

    def key_name(self, value: Obj) -> str | None:
        """The name of the key a stored value is encrypted with (None: in clear)."""
        text = value.get(ENVELOPE) if isinstance(value, dict) else None
        if not isinstance(text, str) or not text.startswith(PREFIX):
            return None
        return text[len(PREFIX):].partition(":")[0]


def _json(value: Obj) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


# ---- the configuration file ------------------------------------------------


def parse(text: str) -> Transformer:
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise EncryptionConfigError(f"not YAML: {e}") from None
    if not isinstance(doc, dict) or doc.get("kind") != "EncryptionConfiguration":
        raise EncryptionConfigError("kind: must be EncryptionConfiguration")
    entries = doc.get("resources")
    if not isinstance(entries, list) or not entries:
        raise EncryptionConfigError("resources: must be a non-empty list")
    if len(entries) != 1:
        raise EncryptionConfigError("resources: one entry is supported (one provider list)")
    entry = entries[0]
    names = entry.get("resources") if isinstance(entry, dict) else None
    providers = entry.get("providers") if isinstance(entry, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise EncryptionConfigError("resources[0].resources: must list resource names")
    if not isinstance(providers, list) or not providers:
        raise EncryptionConfigError("resources[0].providers: must be a non-empty list")
    keys: list[Key] = []
    encrypt = False
    for i, p in enumerate(providers):
        where = f"resources[0].providers[{i}]"
        if not isinstance(p, dict) or len(p) != 1 or next(iter(p)) not in ("aesgcm", "identity"):
            raise EncryptionConfigError(f"{where}: must be aesgcm or identity")
        if "aesgcm" in p:
            encrypt = encrypt or i == 0
            keys += _keys(p["aesgcm"], f"{where}.aesgcm")
    if len({k.name for k in keys}) != len(keys):
        raise EncryptionConfigError("resources[0].providers: key names must be unique")
    prefixes = tuple(f"/registry/{n.split('.')[0]}/" for n in names)
    return Transformer(prefixes, tuple(keys), encrypt)


def _keys(spec: Any, where: str) -> list[Key]:
    items = spec.get("keys") if isinstance(spec, dict) else None
    if not isinstance(items, list) or not items:
        raise EncryptionConfigError(f"{where}.keys: must be a non-empty list")
    out = []
    for j, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        secret = item.get("secret") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name or ":" in name:
            raise EncryptionConfigError(f"{where}.keys[{j}].name: required, without ':'")
        try:
            raw = base64.b64decode(str(secret), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise EncryptionConfigError(
                f"{where}.keys[{j}].secret: must be {KEY_BYTES} bytes, base64-encoded")
        out.append(Key(name, raw))
    return out


def load(path: str | os.PathLike) -> Transformer:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise EncryptionConfigError(f"cannot read {path}: {e}") from None
    try:
        return parse(text)
    except EncryptionConfigError as e:
        raise EncryptionConfigError(f"{path}: {e}") from None


def new_secret() -> str:
    return base64.b64encode(pysecrets.token_bytes(KEY_BYTES)).decode()


def config_text(keys: list[tuple[str, str]]) -> str:
    """An EncryptionConfiguration for Secrets with these (name, base64 secret)
    keys, the first encrypting, and identity last (values written in clear)."""
    doc = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
           "resources": [{"resources": ["secrets"], "providers": [
               {"aesgcm": {"keys": [{"name": n, "secret": s} for n, s in keys]}},
               {"identity": {}}]}]}
    return yaml.safe_dump(doc, sort_keys=False)


def ensure_config(path: str | os.PathLike) -> bool:
    """Create the file with one new key when missing; True if it was created."""
    p = Path(path)
    if p.exists() and p.read_text().strip():
        return False
    private.write_private(p, config_text([("key1", new_secret())]))
    return True


def _key_list(path: Path) -> list[tuple[str, str]]:
    doc = yaml.safe_load(path.read_text())
    load(path)  # validates
    return [(k["name"], k["secret"])
            for k in doc["resources"][0]["providers"][0].get("aesgcm", {}).get("keys", [])]


def rotate(path: str | os.PathLike, step: str) -> str:
    """One step of a key rotation; returns what it did. ``add``: a new key
    after the current ones (decrypt only); ``promote``: the last key first
    (it encrypts); ``prune``: keep only the first key."""
    p = Path(path)
    keys = _key_list(p)
    if step == "add":
        used = {n for n, _ in keys}
        name = next(f"key{i}" for i in range(1, len(keys) + 2) if f"key{i}" not in used)
        keys.append((name, new_secret()))
        did = f"added {name} (decrypts only until promoted)"
    elif step == "promote":
        keys.insert(0, keys.pop())
        did = f"{keys[0][0]} now encrypts"
    elif step == "prune":
        keys = keys[:1]
        did = f"kept only {keys[0][0]}"
    else:
        raise EncryptionConfigError(f"unknown rotation step {step!r}")
    private.write_private(p, config_text(keys))
    return did
