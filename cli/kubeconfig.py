"""The kubeconfig file: which masters to talk to, with which token, in which namespace.

Same format as kubectl's (``clusters``, ``users``, ``contexts``,
``current-context``), plus one coxswain extension: a cluster may list every
master under ``x-coxswain-servers`` so the client can fail over between them.
A cluster's CA comes from ``certificate-authority`` (a file) or
``certificate-authority-data`` (inline, base64); ``insecure-skip-tls-verify``
is not honoured: masters are always verified. ``parse`` is pure; ``load`` and
``resolve`` read the files the kubeconfig names.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coxapi import pki

from .errors import UsageFailure

SERVERS_KEY = "x-coxswain-servers"
DEFAULT_PATH = "~/.kube/config"


class KubeconfigError(UsageFailure):
    pass


@dataclass(frozen=True)
class Settings:
    """What a command needs to reach the cluster. ``repr`` never shows the token."""

    servers: list[str]
    token: str | None = field(default=None, repr=False)
    namespace: str = "default"
    context: str = ""
    ca_file: str | None = None  # the cluster CA; None: the system's CAs


@dataclass
class Kubeconfig:
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_context: str = ""
    base_dir: Path = Path(".")  # relative tokenFile paths are relative to the file


def _named(items: Any, section: str, key: str, source: str) -> dict[str, dict[str, Any]]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise KubeconfigError(f"{source}: {section} must be a list")
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise KubeconfigError(f"{source}: {section}[{i}].name is required")
        body = item.get(key) or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"{source}: {section}[{i}].{key} must be a mapping")
        out.setdefault(item["name"], body)  # first definition wins, as in kubectl
    return out


def parse(data: Any, source: str = "kubeconfig") -> Kubeconfig:
    """Parse one kubeconfig document (already loaded from YAML)."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"{source}: not a kubeconfig (expected a mapping)")
    return Kubeconfig(
        clusters=_named(data.get("clusters"), "clusters", "cluster", source),
        users=_named(data.get("users"), "users", "user", source),
        contexts=_named(data.get("contexts"), "contexts", "context", source),
        current_context=str(data.get("current-context") or ""),
    )


def merge(configs: list[Kubeconfig]) -> Kubeconfig:
    """Merge several files like kubectl: the first file to define a name wins."""
    out = Kubeconfig()
    for cfg in configs:
        for mine, theirs in ((out.clusters, cfg.clusters), (out.users, cfg.users),
                             (out.contexts, cfg.contexts)):
            for name, body in theirs.items():
                mine.setdefault(name, body)
        if not out.current_context:
            out.current_context = cfg.current_context
            out.base_dir = cfg.base_dir
    if configs and not out.current_context:
        out.base_dir = configs[0].base_dir
    return out


def servers_of(cluster: dict[str, Any]) -> list[str]:
    """``server`` first, then every other master from ``x-coxswain-servers``."""
    out: list[str] = []
    extra = cluster.get(SERVERS_KEY) or []
    if not isinstance(extra, list):
        extra = [extra]
    for url in [cluster.get("server"), *extra]:
        if isinstance(url, str) and url.strip() and url.strip().rstrip("/") not in out:
            out.append(url.strip().rstrip("/"))
    return out


def resolve(cfg: Kubeconfig, context: str | None = None) -> Settings:
    name = context or cfg.current_context
    if not name:
        if len(cfg.contexts) == 1:
            name = next(iter(cfg.contexts))
        else:
            raise KubeconfigError("no current context is set (use --context)")
    ctx = cfg.contexts.get(name)
    if ctx is None:
        raise KubeconfigError(f'context "{name}" does not exist')
    cluster = cfg.clusters.get(str(ctx.get("cluster", "")))
    if cluster is None:
        raise KubeconfigError(f'context "{name}": cluster "{ctx.get("cluster", "")}" does not exist')
    servers = servers_of(cluster)
    if not servers:
        raise KubeconfigError(f'cluster "{ctx.get("cluster")}" has no server address')
    user = cfg.users.get(str(ctx.get("user", "")), {}) if ctx.get("user") else {}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        path = Path(os.path.expanduser(str(user["tokenFile"])))
        if not path.is_absolute():
            path = cfg.base_dir / path
        try:
            token = path.read_text().strip()
        except OSError as e:
            raise KubeconfigError(f"cannot read tokenFile {path}: {e.strerror}") from None
    return Settings(servers=servers, token=str(token) if token else None,
                    namespace=str(ctx.get("namespace") or "default"), context=name,
                    ca_file=_ca_file(cluster, str(ctx.get("cluster")), cfg.base_dir))


def _ca_file(cluster: dict[str, Any], name: str, base_dir: Path) -> str | None:
    """The file holding the cluster's CA (inline data is written to one)."""
    data = cluster.get("certificate-authority-data")
    if data:
        try:
            pem = base64.b64decode(str(data), validate=True)
        except (binascii.Error, ValueError):
            raise KubeconfigError(
                f'cluster "{name}": certificate-authority-data is not base64') from None
        try:
            return pki.bundle_file(pem)
        except OSError as e:
            raise KubeconfigError(f"cannot keep the CA of cluster \"{name}\": {e}") from None
    path = cluster.get("certificate-authority")
    if not path:
        return None
    full = Path(os.path.expanduser(str(path)))
    return str(full if full.is_absolute() else base_dir / full)


def paths(explicit: str | None, environ: dict[str, str] | None = None) -> list[Path]:
    """The files to read: ``--kubeconfig``, else ``$KUBECONFIG`` (a : list), else the default."""
    env = os.environ if environ is None else environ
    if explicit:
        return [Path(os.path.expanduser(explicit))]
    if env.get("KUBECONFIG"):
        return [Path(os.path.expanduser(p)) for p in env["KUBECONFIG"].split(os.pathsep) if p]
    return [Path(os.path.expanduser(DEFAULT_PATH))]


def load(explicit: str | None = None, environ: dict[str, str] | None = None) -> Kubeconfig:
    files = paths(explicit, environ)
    configs = []
    for path in files:
        try:
            text = path.read_text()
        except FileNotFoundError:
            if explicit or len(files) == 1:
                raise KubeconfigError(
                    f"no kubeconfig at {path} (use --kubeconfig or $KUBECONFIG; "
                    '"cox master init" writes one)') from None
            continue
        except OSError as e:
            raise KubeconfigError(f"cannot read {path}: {e.strerror}") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise KubeconfigError(f"{path}: invalid YAML: {_yaml_problem(e)}") from None
        cfg = parse(data, str(path))
        cfg.base_dir = path.parent
        configs.append(cfg)
    if not configs:
        raise KubeconfigError(f"no kubeconfig found in {os.pathsep.join(map(str, files))}")
    return merge(configs)


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return " ".join(str(problem).split())
