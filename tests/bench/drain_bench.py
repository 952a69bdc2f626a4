"""What the endpoint drain of one terminating pod reads from the API on a
cluster of ``--nodes`` nodes, each running a proxy and renewing a Lease that
carries its usage report (``--pods`` pods a node), while ``--behind`` of the
proxies apply the Endpoints change only ``--lag`` seconds after it (the rest
at once). The drain is the node agent's own (``node.drain.EndpointDrain``,
polling every 0.1 s); the API is simulated in memory, its answers encoded as
JSON to count what they weigh (the CPU figure is the draining thread's,
which makes and decodes those answers: the client's decoding and a part of
a master's work together). The leader's record of the proxies
(coxapi/proxyrecord.py), for a tree that reads one, follows the Leases at once. With ``--base REV`` the same is measured with
that revision's drain in a process of its own, in turns with this tree's.

    python -m tests.bench.drain_bench [--base REV] [--nodes 100] [--behind 3] [--lag 0.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from typing import Any

Obj = dict[str, Any]


class SimulatedApi:
    """Endpoints without the pod from the start; the proxies' applied revision
    on their Leases, the stragglers' reaching it ``lag`` seconds in."""

    def __init__(self, nodes: int, pods: int, behind: int, lag: float) -> None:
        from coxapi import errors
        from coxapi.timefmt import now_rfc3339
        from coxapi.usagereport import UsageReport
        from node.drain import PROXY_REVISION_ANNOTATION

        self.errors = errors
        self.annotation = PROXY_REVISION_ANNOTATION
        self.start = time.monotonic()
        self.behind, self.lag = behind, lag
        self.requests = 0
        self.bytes = 0
        self.endpoints = {"items": [{"metadata": {"name": "web", "namespace": "default",
                                                  "resourceVersion": "500"},
                                     "subsets": [{"addresses": [{"ip": "10.244.1.3"}]}]}]}
        self.leases: list[Obj] = []
        self.changes = 0  # of the Leases, as the leader would see them
        self.recorded_at: int | None = None
        self.record: Obj = {}
        for i in range(nodes):
            report = UsageReport(now_rfc3339(), 5.0, (123456789, 987654321),
                                 {str(uuid.uuid4()): {"app": (1234567, 12345678)}
                                  for _ in range(pods)})
            self.leases.append({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": f"node-{i:03d}", "namespace": "kube-node-lease",
                             "uid": str(uuid.uuid4()), "resourceVersion": "400",
                             "annotations": {"metrics.coxswain.io/usage": report.encode(),
                                             PROXY_REVISION_ANNOTATION: "400"}},
                "spec": {"holderIdentity": f"node-{i:03d}", "leaseDurationSeconds": 40,
                         "renewTime": now_rfc3339(micro=True)}})

    def _answer(self, obj: Obj) -> Obj:
        body = json.dumps(obj).encode()
        self.requests += 1
        self.bytes += len(body)
        return json.loads(body)

    def _now_leases(self) -> list[Obj]:
        late = time.monotonic() - self.start < self.lag
        for i, lease in enumerate(self.leases):
            applied = "400" if late and i < self.behind else "500"
            annotations = lease["metadata"]["annotations"]
            if annotations[self.annotation] != applied:
                annotations[self.annotation] = applied
                lease["metadata"]["resourceVersion"] = "600"
                self.changes += 1
        return self.leases

    def list(self, kind: str, namespace: str | None = None, **_: Any) -> Obj:
        if kind == "Endpoints":
            return self._answer(self.endpoints)
        return self._answer({"kind": "LeaseList", "items": self._now_leases()})

    def get(self, kind: str, name: str, namespace: str | None = None, **_: Any) -> Obj:
        if name == "coxswain-proxies":  # the leader's record (asked only by a tree that has one)
            from coxapi import proxyrecord
            leases = self._now_leases()
            if self.recorded_at != self.changes:
                # the leader's work, once per change of the Leases (not once per read)
                self.recorded_at = self.changes
                self.record = proxyrecord.record(proxyrecord.gather(leases, time.time()))
            return self._answer(self.record)
        for lease in self._now_leases():
            if lease["metadata"]["name"] == name:
                return self._answer(lease)
        raise self.errors.NotFound(f"{kind} {name} not found")


def measure(nodes: int, pods: int, behind: int, lag: float, drains: int) -> dict[str, float]:
    """Per drain: requests, KiB read, CPU of the draining thread (µs)."""
    from node.drain import EndpointDrain

    pod = {"metadata": {"name": "web-1", "namespace": "default", "resourceVersion": "450"},
           "status": {"podIP": "10.244.1.2"}}
    requests, kib, cpu = [], [], []
    for _ in range(drains):
        api = SimulatedApi(nodes, pods, behind, lag)
        t0 = time.thread_time()
        assert EndpointDrain(api, timeout=10.0).wait(pod, budget=10.0)
        cpu.append((time.thread_time() - t0) * 1e6)
        requests.append(api.requests)
        kib.append(api.bytes / 1024)
    return {"requests": statistics.median(requests), "kib": statistics.median(kib),
            "cpu_us": statistics.median(cpu)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--pods", type=int, default=10, help="pods a node (its usage report)")
    p.add_argument("--behind", type=int, default=3, help="proxies that apply late")
    p.add_argument("--lag", type=float, default=0.5, help="seconds they take")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--drains", type=int, default=3, help="drains a round")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.nodes, args.pods, args.behind, args.lag, args.drains)))
        return 0
    from tests.bench import reproduce
    from tests.bench.sidebyside import rounds

    measured = rounds(__file__, ["--one", "--nodes", str(args.nodes), "--pods", str(args.pods),
                                 "--behind", str(args.behind), "--lag", str(args.lag),
                                 "--drains", str(args.drains)], args.base, args.rounds)
    print(f"one endpoint drain, {args.nodes} nodes, {args.behind} proxies {args.lag:g} s "
          f"behind (medians of {args.rounds} rounds of {args.drains}):")
    for key, what in (("requests", "requests"), ("kib", "KiB read"), ("cpu_us", "CPU µs")):
        new = [r["new"][key] for r in measured]
        line = f"  {what:9s} new {statistics.median(new):8.1f}"
        if args.base:
            base = [r["base"][key] for r in measured]
            ratios = [n / b for n, b in zip(new, base, strict=True)]
            line += (f"  base {statistics.median(base):8.1f}  new/base "
                     f"x{statistics.median(ratios):.2f}")
        print(line)
    print(f"\nreproduce: {reproduce('tests.bench.drain_bench', argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
