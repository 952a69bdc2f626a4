"""Authentication by bearer token, and the credential files of a cluster.

Tokens come from a static token file in Kubernetes' CSV format
(``token,user,uid,"group1,group2"``). ``init_cluster_dir`` writes that file,
the Raft cluster secret, the cluster CA and the masters' serving certificates
(``coxapi.pki``, under DIR/pki) and an admin kubeconfig that trusts that CA;
it keeps whatever already exists and is still good, so running it twice
changes nothing. Token values are never logged.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import yaml

from coxapi import pki, private

from . import encryption

log = logging.getLogger(__name__)

MASTERS_GROUP = "system:masters"
NODES_GROUP = "system:nodes"
# Read-only scrapers: may GET /metrics on masters and node agents, nothing else.
MONITORING_GROUP = "system:monitoring"
MONITORING_USER = "system:monitoring"
ADMIN_USER = "admin"


@dataclass(frozen=True)
class User:
    name: str
    uid: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class TokenEntry:
    token: str
    user: User


class TokenFileError(ValueError):
    pass


def parse_tokens(text: str) -> list[TokenEntry]:
    entries = []
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 3 or not row[0] or not row[1]:
            raise TokenFileError(f"line {lineno}: expected token,user,uid[,\"groups\"]")
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        entries.append(TokenEntry(row[0].strip(), User(row[1].strip(), row[2].strip(), groups)))
    return entries


def format_tokens(entries: list[TokenEntry]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    for e in entries:
        w.writerow([e.token, e.user.name, e.user.uid, ",".join(e.user.groups)])
    return out.getvalue()


def load_tokens(path: str | os.PathLike) -> list[TokenEntry]:
    return parse_tokens(Path(path).read_text())


class Authenticator(Protocol):
    def authenticate(self, authorization: str | None) -> User | None: ...


class UnionAuthenticator:
    """The first authenticator that knows the credential decides (Kubernetes' union)."""

    def __init__(self, *authenticators: Authenticator) -> None:
        self.authenticators = authenticators

    def authenticate(self, authorization: str | None) -> User | None:
        for a in self.authenticators:
            user = a.authenticate(authorization)
            if user is not None:
                return user
        return None


class TokenAuthenticator:
    """Maps an ``Authorization`` header to a ``User`` (or None)."""

    def __init__(self, entries: list[TokenEntry] | None = None) -> None:
        self._set_entries(list(entries or []))

    def _set_entries(self, entries: list[TokenEntry]) -> None:
        # one dict lookup per request (as Kubernetes' token file authenticator
        # does), not a comparison with every token; the last entry of a token wins
        self._users = {e.token: e.user for e in entries}

    def authenticate(self, authorization: str | None) -> User | None:
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        return self._users.get(token)


class FileTokenAuthenticator(TokenAuthenticator):
    """Tokens from a file, re-read when it changes (checked at most every
    ``interval`` seconds), so `cox master init --node nX` needs no restart.
    A file that became unreadable or malformed keeps the last good tokens."""

    def __init__(self, path: str | os.PathLike, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.interval, self.clock = interval, clock
        self._lock = threading.Lock()
        self._checked = clock()
        self._stamp = self._stat()
        super().__init__(load_tokens(self.path))

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _refresh(self) -> None:
        if self.clock() - self._checked < self.interval:
            return  # the common case, without the lock
        with self._lock:
            if self.clock() - self._checked < self.interval:
                return
            self._checked = self.clock()
            stamp = self._stat()
            if stamp is None or stamp == self._stamp:
                return
            try:
                entries = load_tokens(self.path)
            except (OSError, TokenFileError, csv.Error) as e:
                log.warning("keeping the previous tokens: cannot read %s: %s", self.path, e)
                return
            self._stamp = stamp
            self._set_entries(entries)
            log.info("reloaded %d tokens from %s", len(entries), self.path)

    def authenticate(self, authorization: str | None) -> User | None:
        self._refresh()
        return super().authenticate(authorization)


# ---- cluster credential files ---------------------------------------------


def _new_token() -> str:
    return secrets.token_urlsafe(32)




@dataclass
class InitResult:
    directory: Path
    created: list[str] = field(default_factory=list)


def kubeconfig(servers: list[str], token: str, ca_data: str, name: str = "coxswain") -> dict:
    """``ca_data``: the cluster CA, base64 PEM, as kubectl reads it."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": servers[0],
                                                "certificate-authority-data": ca_data,
                                                "x-coxswain-servers": list(servers)}}],
        "users": [{"name": ADMIN_USER, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": ADMIN_USER}}],
        "current-context": name,
        "preferences": {},
    }


def _servers_in(path: Path) -> list[str]:
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
        cluster = cfg["clusters"][0]["cluster"]
        return list(cluster.get("x-coxswain-servers") or [cluster["server"]])
    except (OSError, KeyError, IndexError, TypeError, yaml.YAMLError):
        return []


LOCAL_HOSTS = ("localhost", "127.0.0.1")  # every master's certificate names these


def pki_dir(directory: str | os.PathLike) -> pki.PkiDir:
    return pki.PkiDir(Path(directory) / "pki")


def init_cluster_dir(directory: str | os.PathLike, nodes: list[str] | tuple[str, ...] = (),
                     master_urls: list[str] | tuple[str, ...] = (),
                     masters: list[str] | tuple[str, ...] = (),
                     tls_hosts: list[str] | tuple[str, ...] = (),
                     agents: Mapping[str, Sequence[str]] | None = None) -> InitResult:
    """Write (or complete) DIR/cluster-secret, DIR/tokens.csv, DIR/<node>.token,
    DIR/metrics.token (read-only: ``/metrics`` only), DIR/encryption-config.yaml,
    the CA in DIR/pki, a serving certificate DIR/pki/<master>.crt for each of
    ``masters`` (valid for its name, localhost, 127.0.0.1 and ``tls_hosts``) and
    DIR/kubeconfig; for each node of ``agents`` its agent's serving certificate
    DIR/pki/node-<node>.crt (valid for its name and addresses). Existing secrets, keys, tokens, the CA and certificates that
    still cover their hosts are kept. DIR is made private (0700)."""
    d = private.private_dir(directory)
    result = InitResult(d)

    certs = pki_dir(d)
    result.created += pki.ensure_ca(certs)
    for name in masters:
        result.created += pki.ensure_serving(certs, name, [name, *LOCAL_HOSTS, *tls_hosts])
    for node, addresses in (agents or {}).items():
        result.created += pki.ensure_serving(certs, pki.agent_cert_name(node),
                                             [node, *addresses])

    enc_path = d / encryption.FILE_NAME
    if encryption.ensure_config(enc_path):
        result.created.append(str(enc_path))

    secret_path = d / "cluster-secret"
    if not secret_path.exists() or not secret_path.read_text().strip():
        private.write_private(secret_path, secrets.token_urlsafe(32) + "\n")
        result.created.append(str(secret_path))

    tokens_path = d / "tokens.csv"
    entries = load_tokens(tokens_path) if tokens_path.exists() else []
    changed = False
    admin = next((e for e in entries if MASTERS_GROUP in e.user.groups), None)
    if admin is None:
        admin = TokenEntry(_new_token(), User(ADMIN_USER, ADMIN_USER, (MASTERS_GROUP,)))
        entries.insert(0, admin)
        changed = True
    monitor = next((e for e in entries if MONITORING_GROUP in e.user.groups), None)
    if monitor is None:
        monitor = TokenEntry(_new_token(), User(MONITORING_USER, MONITORING_USER,
                                                (MONITORING_GROUP,)))
        entries.append(monitor)
        changed = True
    metrics_path = d / "metrics.token"
    if not metrics_path.exists() or metrics_path.read_text().strip() != monitor.token:
        private.write_private(metrics_path, monitor.token + "\n")
        result.created.append(str(metrics_path))
    for node in nodes:
        user = f"system:node:{node}"
        entry = next((e for e in entries if e.user.name == user), None)
        if entry is None:
            entry = TokenEntry(_new_token(), User(user, user, (NODES_GROUP,)))
            entries.append(entry)
            changed = True
        token_path = d / f"{node}.token"
        if not token_path.exists() or token_path.read_text().strip() != entry.token:
            private.write_private(token_path, entry.token + "\n")
            result.created.append(str(token_path))
    if changed or not tokens_path.exists():
        private.write_private(tokens_path, format_tokens(entries))
        result.created.append(str(tokens_path))

    kc_path = d / "kubeconfig"
    servers = list(master_urls) or _servers_in(kc_path) or ["https://127.0.0.1:6443"]
    text = yaml.safe_dump(kubeconfig(servers, admin.token, pki.ca_data(certs)), sort_keys=False)
    if not kc_path.exists() or kc_path.read_text() != text:
        private.write_private(kc_path, text)
        result.created.append(str(kc_path))
    return result
