"""``cox logs``: a container's output, fetched (or followed) through the master;
of one pod, or of every pod a label selector picks (``-l``, lines prefixed
with ``[pod/NAME/CONTAINER]`` when ``--prefix``)."""

from __future__ import annotations

import math
import queue
import threading
from typing import Any

import click

from coxapi.client import Client
from coxapi.kinds import lookup
from coxapi.timefmt import parse_time

from ..errors import UsageFailure
from .context import CliContext, namespace_option, pass_cli
from .targets import parse_duration

MAX_FOLLOWED = 5  # kubectl's --max-log-requests default


def pick_container(pod: dict, wanted: str | None) -> str:
    """The container to read: ``-c``, else the only one (kubectl refuses to guess)."""
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    name = pod.get("metadata", {}).get("name", "")
    if wanted:
        if wanted not in names:
            raise UsageFailure(f'container {wanted} is not valid for pod {name}; '
                               f'choose one of: [{" ".join(names)}]')
        return wanted
    if len(names) == 1:
        return names[0]
    raise UsageFailure(f"a container name must be specified for pod {name}, "
                       f'choose one of: [{" ".join(names)}]')


@click.command()
@click.argument("pod_name", metavar="POD", required=False)
@namespace_option
@click.option("-c", "--container", default=None, help="Container (needed if the pod has several).")
@click.option("-l", "--selector", default=None, help="Read every pod this label selector picks.")
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new output.")
@click.option("-p", "--previous", is_flag=True,
              help="The previous (terminated) instance of the container.")
@click.option("--since", default=None, help="Only output newer than this (e.g. 10s, 5m, 1h).")
@click.option("--since-time", default=None, help="Only output after this RFC 3339 time.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@click.option("--tail", type=int, default=-1, show_default=True,
              help="Lines of recent output to show (-1 = all; 10 with -l).")
@click.option("--limit-bytes", type=int, default=None, help="At most this many bytes.")
@click.option("--prefix", is_flag=True, help="Prefix each line with pod and container name.")
@pass_cli
def logs(cli: CliContext, pod_name: str | None, namespace: str | None, container: str | None,
         selector: str | None, follow: bool, previous: bool, since: str | None,
         since_time: str | None, timestamps: bool, tail: int, limit_bytes: int | None,
         prefix: bool) -> None:
    """Print the logs of a container in a pod (or of the pods ``-l`` selects).

    \b
    Examples:
      cox logs web-6c9f
      cox logs -f pod/web-6c9f -c app --tail 20
      cox logs web-6c9f --previous --timestamps --since 10m
      cox logs -l app=web --prefix
    """
    if bool(pod_name) == bool(selector):
        raise UsageFailure("give either a pod name or a selector (-l), not both or neither")
    params = log_params(follow, previous, since, since_time, timestamps,
                        tail if tail >= 0 or not selector else 10, limit_bytes)
    pods_kind = lookup("pods")
    ns = cli.namespace_for(namespace)
    client = cli.client()
    if pod_name:
        kind_name, sep, name = pod_name.rpartition("/")
        if sep and "log" not in lookup(kind_name).subresources:
            raise UsageFailure(f"cox logs reads pods, not {kind_name}")
        pods = [client.get(pods_kind, name, ns)]
    else:
        pods = client.list(pods_kind, ns, label_selector=selector).get("items") or []
        if not pods:
            click.echo(f"No resources found in {ns} namespace.", err=True)
            return
    sources = [(p["metadata"]["name"], pick_container(p, container)) for p in pods]
    if follow and len(sources) > MAX_FOLLOWED:
        raise UsageFailure(f"you are attempting to follow {len(sources)} log streams, but "
                           f"at most {MAX_FOLLOWED} are allowed; narrow the selector")
    streams = [(f"[pod/{name}/{c}] " if prefix else "", pods_kind.path(ns, name, "log"),
                params | {"container": c}) for name, c in sources]
    if follow and len(streams) > 1:
        _follow_all(client, streams)
        return
    for label, path, p in streams:
        for line in client.stream_text(path, params=p):
            click.echo(label + line)


def log_params(follow: bool, previous: bool, since: str | None, since_time: str | None,
               timestamps: bool, tail: int, limit_bytes: int | None) -> dict[str, str]:
    """The query of a log request (pure); a bad flag is a usage error."""
    if since and since_time:
        raise UsageFailure("at most one of --since and --since-time may be given")
    params: dict[str, str] = {}
    for flag, on in (("follow", follow), ("previous", previous), ("timestamps", timestamps)):
        if on:
            params[flag] = "true"
    if since:
        params["sinceSeconds"] = str(max(1, math.ceil(parse_duration(since))))
    if since_time:
        if parse_time(since_time) is None:
            raise UsageFailure(f'--since-time: "{since_time}" is not an RFC 3339 time')
        params["sinceTime"] = since_time
    if tail >= 0:
        params["tailLines"] = str(tail)
    if limit_bytes is not None:
        if limit_bytes < 1:
            raise UsageFailure("--limit-bytes must be at least 1")
        params["limitBytes"] = str(limit_bytes)
    return params


def _follow_all(client: Client, streams: list[tuple[str, str, dict[str, str]]]) -> None:
    """Follow several pods at once, printing whole lines as they come."""
    lines: queue.Queue[Any] = queue.Queue()
    done = object()

    def read(label: str, path: str, params: dict[str, str]) -> None:
        try:
            for line in client.stream_text(path, params=params):
                lines.put(label + line)
        except Exception as e:  # noqa: BLE001 - reported, the other streams go on
            lines.put(e)
        finally:
            lines.put(done)

    for s in streams:
        threading.Thread(target=read, args=s, daemon=True).start()
    open_streams = len(streams)
    failure: Exception | None = None
    while open_streams:
        item = lines.get()
        if item is done:
            open_streams -= 1
        elif isinstance(item, Exception):
            failure = item
        else:
            click.echo(item)
    if failure is not None:
        raise failure
