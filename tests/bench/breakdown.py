"""What a phase of a cluster bench cost, by kind: Raft commands by the resource
they write, API requests by verb and resource, Events by the component that
recorded them. Read from the masters (``/status/raft``, ``/metrics``) and the
API, summed over the masters; differences of two readings give one phase."""

from __future__ import annotations

import collections
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from coxapi.client import Client
from tests.masters import MasterCluster

Counts = collections.Counter
T = TypeVar("T")
PATIENCE = 15.0  # seconds a busy master may take to answer a reading, each of 3 tries


def patiently(what: str, read: Callable[[], T]) -> T | None:
    """``read()``, tried 3 times; None (and a line on stderr) if it never answered:
    a master missing from a phase's sums must not pass for a cheap phase."""
    last: Exception | None = None
    for _ in range(3):
        try:
            return read()
        except Exception as e:  # noqa: BLE001 - reported below
            last = e
    print(f"  (bench: {what} did not answer: {last!r}; its counts are missing)",
          file=sys.stderr, flush=True)
    return None


def raft_by_resource(mc: MasterCluster) -> Counts[str]:
    """Commands proposed so far by the resource they write (``noop``: read barriers)."""
    out: Counts[str] = collections.Counter()
    for m in mc.masters:
        st = patiently(f"{m.name} /status/raft", lambda m=m: m.raft_status(mc.token, PATIENCE))
        out.update((st or {}).get("commands_by_resource") or {})
    return out


def samples(text: str, metric: str) -> Iterator[tuple[dict[str, str], float]]:
    """Each sample of ``metric`` in a Prometheus exposition: its labels and value."""
    start = metric + "{"
    for line in text.splitlines():
        if line.startswith(start):
            labels, _, value = line.rpartition(" ")
            yield ({k: v.strip('"') for k, _, v in
                    (part.partition("=") for part in labels[len(start):-1].split(","))},
                   float(value))


def parse_requests(text: str) -> Counts[str]:
    """``apiserver_request_total`` from a Prometheus exposition, as "VERB resource";
    the answers of 400 and above also as "refused VERB resource CODE"."""
    out: Counts[str] = collections.Counter()
    for fields, value in samples(text, "apiserver_request_total"):
        what = f"{fields.get('verb', '')} {fields.get('resource', '')}"
        out[what] += int(value)
        if fields.get("code", "").isdigit() and int(fields["code"]) >= 400:
            out[f"refused {what} {fields['code']}"] += int(value)
    return out


SLOW_SECONDS = "1.0"  # a bucket bound of apiserver_request_duration_seconds


def parse_slow(text: str) -> Counts[str]:
    """Requests that took longer than ``SLOW_SECONDS`` in the master (from the
    request's headers to its answer), as "VERB resource"."""
    total: Counts[str] = collections.Counter()
    fast: Counts[str] = collections.Counter()
    for fields, value in samples(text, "apiserver_request_duration_seconds_bucket"):
        key = f"{fields.get('verb', '')} {fields.get('resource', '')}"
        if fields.get("le") == "+Inf":
            total[key] += int(value)
        elif fields.get("le") == SLOW_SECONDS:
            fast[key] += int(value)
    total.subtract(fast)
    return +total


def parse_gc(text: str) -> Counts[str]:
    """Garbage-collection passes and their pauses so far (``python_gc_pause_seconds``),
    keyed "gc passes N" and "gc seconds N" by generation N."""
    out: Counts[str] = collections.Counter()
    for metric, what in (("python_gc_pause_seconds_count", "passes"),
                         ("python_gc_pause_seconds_sum", "seconds")):
        for fields, value in samples(text, metric):
            out[f"gc {what} {fields.get('generation', '?')}"] += value
    return out


def api_requests(mc: MasterCluster) -> Counts[str]:
    """API requests answered so far, by verb and resource, summed over the
    masters; keyed "slow <master> VERB resource", those over ``SLOW_SECONDS``;
    keyed "gc ...", the masters' garbage-collection passes (``parse_gc``)."""
    out: Counts[str] = collections.Counter()
    session = mc.session()

    def metrics(url: str) -> str:
        r = session.get(url + "/metrics", timeout=PATIENCE)
        r.raise_for_status()
        return r.text
    for m in mc.masters:
        text = patiently(f"{m.name} /metrics", lambda m=m: metrics(m.url))
        if text is None:
            continue
        out.update(parse_requests(text))
        out.update({f"slow {m.name} {k}": v for k, v in parse_slow(text).items()})
        out.update(parse_gc(text))
    return out


def events_by_component(client: Client, namespace: str) -> tuple[Counts[str], Counts[str]]:
    """Event objects and the occurrences they count, by the component that recorded them."""
    objects: Counts[str] = collections.Counter()
    occurrences: Counts[str] = collections.Counter()
    for ev in client.list("Event", namespace)["items"]:
        comp = (ev.get("source") or {}).get("component") or ev.get("reportingComponent") or "?"
        objects[comp] += 1
        occurrences[comp] += int(ev.get("count") or 1)
    return objects, occurrences


def per_pod(label: str, counts: Counts[str], pods: int, skip: Iterable[str] = ()) -> str:
    """One line: each key's count per pod, largest first (below 0.05 per pod left out)."""
    drop = set(skip)
    parts = [f"{k} {v / pods:.2f}" for k, v in counts.most_common()
             if k not in drop and v / pods >= 0.05]
    return f"  {label} per pod: " + (", ".join(parts) or "none")


def snapshot(mc: MasterCluster) -> tuple[Counts[str], Counts[str]]:
    return raft_by_resource(mc), api_requests(mc)


def report(mc: MasterCluster, client: Client, before: tuple[Counts[str], Counts[str]],
           pods: int, namespace: str, events: bool = True) -> str:
    """The phase since ``before``, per pod; ``events``: also the Events stored so far."""
    raft, api = snapshot(mc)
    raft.subtract(before[0])
    api.subtract(before[1])
    slow = collections.Counter({k[len("slow "):]: v for k, v in api.items()
                                if k.startswith("slow ") and v > 0})
    gc = {k: v for k, v in api.items() if k.startswith("gc ")}
    writes = collections.Counter({k: v for k, v in api.items()
                                  if k.split(" ")[0] in ("POST", "PUT", "PATCH", "DELETE")})
    refused = collections.Counter({k[len("refused "):]: v for k, v in api.items()
                                   if k.startswith("refused ")})
    reads = collections.Counter({k: v for k, v in api.items() if k not in writes
                                 and not k.startswith(("slow ", "gc ", "refused "))})
    lines = [per_pod("Raft commands by resource", raft, pods),
             per_pod("API writes", writes, pods),
             per_pod("API reads and watches", reads, pods),
             per_pod("API answers of 400 and above (verb, resource, code)", refused, pods),
             f"  API requests over {SLOW_SECONDS} s inside a master: "
             + (", ".join(f"{k} {v}" for k, v in slow.most_common(8)) or "none"),
             "  garbage collection, the masters together: " + ", ".join(
                 f"generation {g} {gc.get(f'gc passes {g}', 0):.0f} passes "
                 f"{gc.get(f'gc seconds {g}', 0):.2f} s" for g in "210")]
    if events:
        objects, occurrences = events_by_component(client, namespace)
        lines += [per_pod("Event objects by component", objects, pods),
                  per_pod("event occurrences by component", occurrences, pods)]
    return "\n".join(lines)
