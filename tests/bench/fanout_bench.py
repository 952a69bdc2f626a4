"""The API's watch fan-out per pod event, with node agents watching their pods.

    python -m tests.bench.fanout_bench [--nodes 100] [--events 5000] [--batch 20] [--runs 7]

N node agents each watch ``spec.nodeName=<their node>`` (as the kubelet
does), beside a few watchers without a field selector (the scheduler, a
dashboard, kubectl). A batch of pod events (ADDED/MODIFIED on random nodes, as
the watch cache hands them to the event loop) is routed to the filters it
matches, as ``master.api.watch.Broadcaster`` does before it writes the
chunks: checked against every filter (the way before ``watchroute``) and
through ``FilterGroups`` (a pod event meets its own node's filters and the
unindexed ones). Prints the CPU per event of each, medians of runs taken in
turns, and the ratio. In-process and CPU-bound: no sockets.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Iterator

from coxapi import kinds, labels
from master.api import fields
from master.api.watch import Filter
from master.api.watchroute import TRIGGER_FIELDS, FilterGroups
from master.watchcache import CachedEvent, Entry
from tests.bench import reproduce

POD = kinds.lookup("Pod")


class EveryFilter(FilterGroups):
    """Every event checked against every filter: the fan-out before watchroute."""

    def route(self, batch: list) -> Iterator[tuple]:
        for filt in list(self.watchers):
            events = [ev for ev in batch if filt.matches(ev.entry)]
            if events:
                yield filt, events


def build(groups: FilterGroups, nodes: int) -> FilterGroups:
    for n in range(nodes):
        groups.add(Filter(POD.storage_prefix(None), (),
                          fields.parse(f"spec.nodeName=node-{n}", "Pod")), f"agent-{n}")
    groups.add(Filter(POD.storage_prefix(None), (), fields.parse("spec.nodeName=", "Pod")),
               "scheduler")
    groups.add(Filter(POD.storage_prefix(None)), "dashboard")
    groups.add(Filter(POD.storage_prefix("default"), labels.parse_selector("app=web")), "kubectl")
    return groups


def events(n: int, nodes: int, rng: random.Random) -> list[CachedEvent]:
    out = []
    for rev in range(1, n + 1):
        obj = {"metadata": {"name": f"web-{rev}", "namespace": "default",
                            "labels": {"app": "web"}},
               "spec": {"nodeName": f"node-{rng.randrange(nodes)}"},
               "status": {"phase": "Running"}}
        out.append(CachedEvent(rev, rng.choice(["ADDED", "MODIFIED"]),
                               Entry(f"{POD.storage_prefix('default')}web-{rev}", obj, b"{}")))
    return out


def per_event_us(groups: FilterGroups, evs: list[CachedEvent], batch: int) -> float:
    started = time.process_time()
    routed = 0
    for i in range(0, len(evs), batch):
        for _, matched in groups.route(evs[i:i + batch]):
            routed += len(matched)
    assert routed >= len(evs)  # every event reaches its node's agent at least
    return (time.process_time() - started) / len(evs) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--events", type=int, default=5000)
    ap.add_argument("--batch", type=int, default=20, help="events per loop pass")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    evs = events(args.events, args.nodes, random.Random(1))
    every = build(EveryFilter(TRIGGER_FIELDS["pods"]), args.nodes)
    indexed = build(FilterGroups(TRIGGER_FIELDS["pods"]), args.nodes)
    before: list[float] = []
    after: list[float] = []
    for _ in range(args.runs):
        before.append(per_event_us(every, evs, args.batch))
        after.append(per_event_us(indexed, evs, args.batch))
    b, a = statistics.median(before), statistics.median(after)
    print(f"{args.nodes} node agents watching their pods + 3 other watchers; "
          f"{args.events} pod events in batches of {args.batch}; medians of {args.runs} runs")
    print(f"  every filter checked  {b:8.1f} us CPU per event")
    print(f"  filed by node name    {a:8.1f} us CPU per event   (x{a / b:.3f}, {b / a:.0f} times less)")
    print(f"\nreproduce: {reproduce('tests.bench.fanout_bench', argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
