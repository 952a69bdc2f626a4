"""Waiting for a fresh cluster: the API answers, and every node is Ready.

The admin token comes from DIR/kubeconfig (written by ``cox master init``);
``nodes_ready`` is the pure judgement of a ``GET /api/v1/nodes`` answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import requests
import yaml


class NotReady(RuntimeError):
    """The cluster did not become ready before the deadline."""


def admin_token(kubeconfig: Path) -> str:
    """The bearer token of the current context's user."""
    try:
        cfg = yaml.safe_load(kubeconfig.read_text()) or {}
        ctx_name = cfg.get("current-context")
        ctx = next((c["context"] for c in cfg.get("contexts", [])
                    if c.get("name") == ctx_name), None) or cfg["contexts"][0]["context"]
        user = next(u["user"] for u in cfg.get("users", []) if u.get("name") == ctx["user"])
        token = user.get("token")
        if not token and user.get("tokenFile"):
            token = Path(user["tokenFile"]).read_text().strip()
    except (OSError, yaml.YAMLError, KeyError, IndexError, StopIteration, TypeError) as e:
        raise NotReady(f"cannot read the admin token from {kubeconfig}: {e!r}") from None
    if not token:
        raise NotReady(f"{kubeconfig} has no token for its current user")
    return token


def nodes_ready(node_list: dict[str, Any], want: Iterable[str]) -> tuple[set[str], set[str]]:
    """(ready, not yet ready) among the wanted node names."""
    ready = set()
    for item in node_list.get("items", []):
        name = item.get("metadata", {}).get("name")
        for cond in item.get("status", {}).get("conditions", []) or []:
            if cond.get("type") == "Ready" and cond.get("status") == "True":
                ready.add(name)
    want = set(want)
    return want & ready, want - ready


def wait(urls: list[str], token: str, nodes: list[str], timeout: float,
         say: Callable[[str], None], alive: Callable[[], str | None] = lambda: None,
         ca_file: str | None = None) -> None:
    """Poll until some API answers and all ``nodes`` are Ready, saying progress.
    ``alive`` returns a complaint when a process we wait on has died; the
    masters' certificates are verified against ``ca_file`` (else the system's CAs)."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {token}"}
    api_up = False
    last_count = -1
    last_err = ""
    while time.monotonic() < deadline:
        problem = alive()
        if problem:
            raise NotReady(problem)
        for url in urls:
            try:
                r = requests.get(f"{url}/api/v1/nodes", headers=headers, timeout=3,
                                 verify=ca_file or True)
            except requests.RequestException as e:
                last_err = f"{url}: {e.__class__.__name__}"
                continue
            if r.status_code != 200:
                last_err = f"{url}: HTTP {r.status_code}"
                continue
            if not api_up:
                say(f"API answers at {url}")
                api_up = True
            if not nodes:
                return
            ready, missing = nodes_ready(r.json(), nodes)
            if len(ready) != last_count:
                say(f"nodes Ready: {len(ready)}/{len(nodes)}"
                    + (f" (waiting for {', '.join(sorted(missing))})" if missing else ""))
                last_count = len(ready)
            if not missing:
                return
            break
        time.sleep(0.5)
    what = "all nodes to be Ready" if api_up else "the API to answer"
    raise NotReady(f"timed out after {timeout:.0f}s waiting for {what}"
                   + (f" (last error: {last_err})" if last_err and not api_up else ""))
