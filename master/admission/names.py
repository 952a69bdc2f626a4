"""Server-generated names: ``metadata.generateName`` plus 5 random characters."""

from __future__ import annotations

import secrets

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' alphabet: no vowels, no 0/1/3
_SUFFIX_LEN = 5
_MAX_NAME = 63


def generate(base: str) -> str:
    base = base[: _MAX_NAME - _SUFFIX_LEN]
    return base + "".join(secrets.choice(_ALPHABET) for _ in range(_SUFFIX_LEN))
