"""What one scheduling decision costs: the CPU of ``schedule(pod, snapshot)``
with the scheduler loop's filters (volume binding included) over N Ready nodes
holding 10 pods each, for pods of a ReplicaSet with requests, as the 100-node
bench schedules them. With ``--base REV`` the same is measured with that
revision's code in a process of its own, in turns with this tree's, and the
ratio printed.

    python -m tests.bench.decision_bench [--base REV] [--nodes 100] [--rounds 5] [--n 300]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time


def measure(nodes: int, n: int) -> float:
    """Microseconds of this thread's CPU per decision."""
    from coxapi.informer import Informer
    from master.controllers.testing import node, pod
    from master.listwatch import StoreListWatcher
    from master.objects import ObjectStore
    from master.scheduler.core import Binding, schedule
    from master.scheduler.filters import DEFAULT_FILTERS
    from master.scheduler.snapshot import Snapshot
    from master.scheduler.volumes import VolumeBinding
    from raftstore import MemoryStore

    objects = ObjectStore(MemoryStore())
    informers = [Informer(StoreListWatcher(objects), kind)
                 for kind in ("PersistentVolumeClaim", "PersistentVolume", "StorageClass")]
    volumes = VolumeBinding(objects, *informers, on_change=lambda: None)
    filters = (*DEFAULT_FILTERS, volumes.filter)
    owners = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs{i}", "uid": f"uid-{i}",
               "controller": True} for i in range(10)]
    snap = Snapshot()
    for i in range(nodes):
        snap.set_node(node(f"node-{i:03d}", cpu="8", memory="32Gi", pods=110,
                           labels={"kubernetes.io/os": "linux"}))
        for j in range(10):
            snap.set_pod(pod(f"bound-{i}-{j}", cpu="10m", memory="16Mi", owner=owners[j],
                             node_name=f"node-{i:03d}", phase="Running"))
    pending = [pod(f"p-{k}", cpu="10m", memory="16Mi", owner=owners[k % 10]) for k in range(n)]
    for p in pending:
        p["metadata"]["uid"] = f"uid-p-{p['metadata']['name']}"
    rng = random.Random(1)
    for p in pending[:50]:
        assert isinstance(schedule(p, snap, rng, filters), Binding)
    t0 = time.thread_time()
    for p in pending:
        schedule(p, snap, rng, filters)
    return (time.thread_time() - t0) / n * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=300, help="decisions per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.nodes, args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's
    # tree, which may not have this module
    from tests.bench.sidebyside import print_figure

    print_figure(__file__, "tests.bench.decision_bench",
                 f"one decision over {args.nodes} nodes, CPU (medians of {args.rounds} rounds of "
                 f"{args.n})",
                 ["--one", str(args.n), "--nodes", str(args.nodes)], args.base, args.rounds, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
