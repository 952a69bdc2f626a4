"""What one ReplicaSet sync costs in a namespace of many pods: the CPU of
``ReplicaSetController.reconcile`` for a set whose pods are all there (no
create, no delete, no status write), with a second set's pods beside them, as
in the middle of a rolling update. ``--kind job``: the same for a Job whose
pods all run, beside another Job's. With ``--base REV`` the same is measured
with that revision's code in a process of its own, in turns with this tree's,
and the ratio printed.

    python -m tests.bench.rs_sync_bench [--kind job] [--base REV] [--pods 1500] [--rounds 5] [--n 50]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def measure(kind: str, pods: int, n: int) -> float:
    """Microseconds of this thread's CPU per sync of a set (or Job) of
    ``pods`` pods beside another of as many."""
    if kind == "job":
        return measure_job(pods, n)
    from master.controllers.replicaset import ReplicaSetController
    from master.controllers.testing import make_context, pod

    ctx, _ = make_context()
    sets = []
    for name in ("old", "new"):
        labels = {"app": "web", "hash": name}
        sets.append(ctx.objects.create({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"replicas": pods, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app", "image": "demo"}]}}}}))
    for rs in sets:
        meta = rs["metadata"]
        ref = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": meta["name"],
               "uid": meta["uid"], "controller": True}
        for i in range(pods):
            p = pod(f"{meta['name']}-{i}", labels=meta["labels"], owner=ref,
                    node_name="n1", phase="Running", ready=True, ip="10.0.0.1")
            # as a node agent writes it
            p["status"]["conditions"][0]["lastTransitionTime"] = "2026-12-04T10:00:00Z"
            ctx.objects.create(p)
    rsc = ReplicaSetController(ctx)
    return timed_syncs(ctx, rsc, n)


def timed_syncs(ctx: Any, controller: Any, n: int) -> float:
    """Microseconds of this thread's CPU per sync of "default/new", after a
    first sync has written its status (the syncs timed change nothing)."""
    ctx.informers.relist()
    controller.reconcile("default/new")
    ctx.informers.relist()
    t0 = time.thread_time()
    for _ in range(n):
        controller.reconcile("default/new")
    return (time.thread_time() - t0) / n * 1e6


def measure_job(pods: int, n: int) -> float:
    from master.controllers.job import JobController, job_pod
    from master.controllers.testing import make_context

    ctx, _ = make_context()
    jobs = [ctx.objects.create({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"completions": pods, "parallelism": pods,
                 "selector": {"matchLabels": {"job": name}},
                 "template": {"metadata": {"labels": {"job": name}},
                              "spec": {"restartPolicy": "Never",
                                       "containers": [{"name": "app", "image": "demo"}]}}}})
        for name in ("old", "new")]
    for job in jobs:
        for i in range(pods):
            p = job_pod(job, None)
            p["metadata"]["name"] = f"{job['metadata']['name']}-{i}"  # no generated name twice
            p["spec"]["nodeName"] = "n1"
            p["status"] = {"phase": "Running", "podIP": "10.0.0.1", "conditions": [
                {"type": "Ready", "status": "True"}]}
            ctx.objects.create(p)
    jc = JobController(ctx)
    return timed_syncs(ctx, jc, n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--kind", choices=("replicaset", "job"), default="replicaset")
    p.add_argument("--base", help="git revision to compare with")
    p.add_argument("--pods", type=int, default=1500, help="pods of each of the two sets")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--n", type=int, default=50, help="syncs per round")
    p.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a measuring subprocess
    args = p.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.kind, args.pods, args.one)))
        return 0
    # here, not at the top: the measuring subprocess imports the base revision's tree
    from tests.bench.sidebyside import print_figure

    owner = "ReplicaSet" if args.kind == "replicaset" else "Job"
    print_figure(__file__, "tests.bench.rs_sync_bench",
                 f"one sync of a {args.pods}-pod {owner} beside another, CPU (medians of "
                 f"{args.rounds} rounds of {args.n})",
                 ["--one", str(args.n), "--pods", str(args.pods), "--kind", args.kind],
                 args.base, args.rounds, argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
