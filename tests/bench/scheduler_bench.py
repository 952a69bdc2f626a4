"""Scheduler throughput: pods bound per second.

1,000 pending pods on 50 fake nodes, through the real scheduler loop
(informers over watch, the assume cache, binder threads, CAS bindings and
Scheduled events) and the real ObjectStore over raftstore's MemoryStore —
in-process, no Raft, so this measures the scheduler, not consensus.
The clock starts when the scheduler starts (pods already pending) and stops
when a separate watch has seen every pod bound.

    python -m tests.bench.scheduler_bench [--pods 1000] [--nodes 50] [--runs 5]
        [--store memory|raft] [--binders 32]

``--store raft`` runs the same loop over a one-replica RaftStore instead, to
show what committing every binding through the Raft log costs.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from coxapi.informer import Informer
from master.controllers.base import Context
from master.controllers.config import ControllerConfig
from master.controllers.testing import node, pod
from master.listwatch import StoreListWatcher
from master.objects import ObjectStore
from master.scheduler.loop import Scheduler
from raftstore import MemoryStore

OWNERS = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"rs{i}", "uid": f"uid-{i}",
           "controller": True} for i in range(10)]


@contextlib.contextmanager
def open_store(kind: str) -> Iterator[Any]:
    """``memory``: MemoryStore. ``raft``: a one-replica RaftStore (pysyncobj
    log + journal in a temp dir), to see what committing through Raft costs."""
    if kind == "memory":
        yield MemoryStore()
        return
    from raftstore import RaftStore, StoreConfig
    from tests.support import free_port
    with tempfile.TemporaryDirectory() as d:
        store = RaftStore(StoreConfig(self_addr=f"127.0.0.1:{free_port()}", peers=[],
                                      data_dir=d, secret="bench-" + "x" * 26))
        try:
            deadline = time.monotonic() + 10
            while not store.is_leader():
                if time.monotonic() > deadline:
                    raise SystemExit("the one-replica RaftStore elected no leader")
                time.sleep(0.05)
            yield store
        finally:
            store.close()


def run_once(n_pods: int, n_nodes: int, store_kind: str = "memory",
             binders: int = 32) -> tuple[float, int]:
    with open_store(store_kind) as store:
        return _run(ObjectStore(store), n_pods, n_nodes, binders)


def _run(objects: ObjectStore, n_pods: int, n_nodes: int, binders: int) -> tuple[float, int]:
    ctx = Context(objects, ControllerConfig(seed=1, scheduler_bind_workers=binders))
    for i in range(n_nodes):
        objects.create(node(f"node-{i:03d}", cpu="64", memory="256Gi", pods=110))
    for i in range(n_pods):
        objects.create(pod(f"pod-{i:04d}", cpu="100m", memory="128Mi", owner=OWNERS[i % 10]))

    bound: set[str] = set()
    done = threading.Event()

    def seen(obj: dict) -> None:
        if obj["spec"].get("nodeName"):
            bound.add(obj["metadata"]["name"])
            if len(bound) >= n_pods:
                done.set()

    watcher = Informer(StoreListWatcher(objects, poll=0.05), "Pod")
    watcher.add_handler(seen, lambda old, new: seen(new), None)
    watcher.start()
    watcher.wait_for_sync(10)

    sched = Scheduler(ctx)
    ctx.informers.start()
    ctx.informers.wait_for_sync(10)
    stop = threading.Event()
    threads = [threading.Thread(target=loop, args=(stop,), name=name, daemon=True)
               for name, loop in sched.loops().items()]
    start = time.perf_counter()
    for t in threads:
        t.start()
    finished = done.wait(120)
    elapsed = time.perf_counter() - start
    stop.set()
    ctx.informers.stop()
    watcher.stop()
    for t in threads:
        t.join(5)
    if not finished:
        raise SystemExit(f"only {len(bound)}/{n_pods} pods bound within 120 s")
    # every node within its pod and cpu limits: the assume cache held
    per_node: dict[str, int] = {}
    for p in objects.list("Pod", "default")[0]:
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    assert max(per_node.values()) <= 110
    return n_pods / elapsed, len(per_node)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--store", choices=("memory", "raft"), default="memory")
    ap.add_argument("--binders", type=int, default=32, help="binder threads")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    rates = []
    for i in range(args.runs):
        rate, used = run_once(args.pods, args.nodes, args.store, args.binders)
        rates.append(rate)
        print(f"run {i + 1}: {rate:7.1f} pods/s  ({used} nodes used)", flush=True)
    where = ("ObjectStore over MemoryStore, no Raft" if args.store == "memory"
             else "ObjectStore over a one-replica RaftStore")
    print(f"median: {statistics.median(rates):.1f} pods/s over {args.runs} runs "
          f"({args.pods} pods, {args.nodes} nodes, {args.binders} binders; {where})")
    print(f"command: python -m tests.bench.scheduler_bench --pods {args.pods} "
          f"--nodes {args.nodes} --runs {args.runs} --store {args.store} "
          f"--binders {args.binders}")
    print(f"python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
