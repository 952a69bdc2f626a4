"""What the leader's garbage collector keeps per ConfigMap: a full informer
against a metadata informer (``InformerFactory.metadata``), side by side.

    python -m tests.bench.metadata_informer_bench [--objects 20000] [--data 400] [--runs 3]

An in-memory store holds N ConfigMaps (one owner reference, a data value of
D bytes: 20,000 of ~450 bytes make the 9 MB list of issue 8). Each run lists
them into a fresh informer of each kind and measures the Python memory its
cache holds (tracemalloc) and the time of the list. Medians of the runs, and
the ratio metadata / full.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc

from coxapi.informer import Informer
from master.listwatch import StoreListWatcher
from master.objects import ObjectStore
from raftstore.memory import MemoryStore


def fill(objects: ObjectStore, n: int, data: int) -> None:
    owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
             "uid": "7d3b1c9e-0000-4000-8000-000000000000", "controller": True}
    for i in range(n):
        objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": f"cm-{i}", "namespace": "default",
                                     "labels": {"app": "web"}, "ownerReferences": [owner]},
                        "data": {"config": "x" * data}})


def one(objects: ObjectStore, metadata_only: bool) -> tuple[float, float]:
    """(MB the cache holds, seconds the list took)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    inf = Informer(StoreListWatcher(objects, metadata_only=metadata_only), "ConfigMap")
    t0 = time.perf_counter()
    inf.relist()
    took = time.perf_counter() - t0
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert len(inf.list()) > 0
    return held / 1e6, took


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--objects", type=int, default=20_000)
    p.add_argument("--data", type=int, default=400, help="bytes of each ConfigMap's data value")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    objects = ObjectStore(MemoryStore())
    fill(objects, args.objects, args.data)
    rows: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.runs):
        for mode in (False, True):  # interleaved: the machine's load moves both alike
            rows[mode].append(one(objects, mode))
    med = {m: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
           for m, rs in rows.items()}
    print(f"{args.objects} ConfigMaps with {args.data}-byte data, medians of {args.runs} runs")
    for mode, name in ((False, "full informer"), (True, "metadata informer")):
        mb, s = med[mode]
        print(f"  {name:<18} cache {mb:7.1f} MB   list {s * 1000:7.0f} ms")
    print(f"  ratio metadata/full: memory x{med[True][0] / med[False][0]:.2f}, "
          f"list time x{med[True][1] / med[False][1]:.2f}")
    print("reproduce: python -m tests.bench.metadata_informer_bench " + " ".join(sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
