"""Commit latency and throughput of raftstore next to etcd 3.4, same client
pattern against both: JSON over HTTP/1.1 keep-alive, one connection per
writer, the same key and value sizes, 3 members on loopback.

    python -m tests.bench.raft_bench [--seconds 5] [--writers 16] [--procs 4]
                                     [--no-etcd] [--compare-batching]

Figures: one writer proposing on the leader and through a follower (median,
p99 of the client-observed commit latency), then W concurrent writers spread
over P client processes (so one client's GIL is not the limit) for a fixed
time: committed writes/s."""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from tests.bench.raft_client import FastJsonClient
from tests.bench.raft_cluster import RaftCluster
from tests.bench.raft_etcd import EtcdCluster, b64

VALUE = {"v": "x" * 100}  # ~110 bytes of JSON per write
VALUE_JSON = json.dumps(VALUE)
MAX_OPS_PER_WRITER = 200_000


@dataclass
class Target:
    """How to write one key to one system."""

    name: str
    kind: str  # "raftstore" | "etcd"

    def request(self, key: str) -> tuple[str, dict]:
        if self.kind == "etcd":
            return "/v3/kv/put", {"key": b64(key), "value": b64(VALUE_JSON)}
        return "/v1/put", {"key": key, "value": VALUE}


def sequential(target: Target, addr: str, n: int, tag: str) -> list[float]:
    c = FastJsonClient(addr)
    lat = []
    deadline = time.monotonic() + 60
    try:
        for i in range(n):
            path, body = target.request(f"/bench/{tag}/{i:07d}")
            t0 = time.perf_counter()
            c.post(path, body)
            lat.append(time.perf_counter() - t0)
            if time.monotonic() > deadline:
                break
    finally:
        c.close()
    return lat


def _writer_process(target: Target, addrs: list[str], threads: int, first: int,
                    start_at: float, seconds: float, out: multiprocessing.Queue) -> None:
    results: list[tuple[int, list[float], int]] = []
    lock = threading.Lock()

    def run(w: int) -> None:
        c = FastJsonClient(addrs[w % len(addrs)])
        lat, errors = [], 0
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        for i in range(MAX_OPS_PER_WRITER):
            if time.time() >= end:
                break
            path, body = target.request(f"/bench/c{w}/{i:07d}")
            t0 = time.perf_counter()
            try:
                c.post(path, body)
            except Exception:  # noqa: BLE001 - counted, not fatal
                errors += 1
                c.close()
                c = FastJsonClient(addrs[w % len(addrs)])
                continue
            lat.append(time.perf_counter() - t0)
        c.close()
        with lock:
            results.append((len(lat), lat, errors))

    ts = [threading.Thread(target=run, args=(first + k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out.put(results)


def cpu_seconds(pids: list[int]) -> list[float]:
    out = []
    for pid in pids:
        t = psutil.Process(pid).cpu_times()
        out.append(t.user + t.system)
    return out



def writer_processes(writers: int, procs: int, timeout: float,
                     make: Callable[[int, int, Any], tuple[Callable[..., None], tuple]]
                     ) -> list:
    """Spread ``writers`` over ``procs`` forked processes and gather what each
    puts on the queue (a list of results). ``make(count, first, queue)`` gives
    a process's target and arguments: ``count`` writers numbered from ``first``."""
    ctx = multiprocessing.get_context("fork")
    q: multiprocessing.Queue = ctx.Queue()
    per = [writers // procs + (1 if k < writers % procs else 0) for k in range(procs)]
    ps, first = [], 0
    for k in range(procs):
        fn, args = make(per[k], first, q)
        p = ctx.Process(target=fn, args=args)
        first += per[k]
        p.start()
        ps.append(p)
    results: list = []
    for _ in ps:
        results += q.get(timeout=timeout)
    for p in ps:
        p.join(10)
    return results

def concurrent(target: Target, addrs: list[str], writers: int, procs: int,
               seconds: float, server_pids: list[int] | None = None) -> dict:
    """``server_pids``: leader first; their CPU time per committed write is reported."""
    server_pids = server_pids or []
    cpu0 = cpu_seconds(server_pids)
    start_at = time.time() + 1.0  # every writer starts together
    results = writer_processes(
        writers, procs, seconds + 60,
        lambda count, first, q: (_writer_process,
                                 (target, addrs, count, first, start_at, seconds, q)))
    cpu = [b - a for a, b in zip(cpu0, cpu_seconds(server_pids), strict=True)]
    lat = sorted(x for _, ls, _ in results for x in ls)
    done = sum(n for n, _, _ in results)
    out = {"writes": done, "errors": sum(e for _, _, e in results),
           "per_s": done / seconds, **summary(lat)}
    if cpu and done:
        out["leader_cpu_us_per_write"] = cpu[0] / done * 1e6
        out["all_servers_cpu_us_per_write"] = sum(cpu) / done * 1e6
    return out


def summary(lat: list[float]) -> dict:
    if not lat:
        return {"n": 0}
    s = sorted(lat)
    return {"n": len(s), "median_ms": statistics.median(s) * 1000,
            "p99_ms": s[min(len(s) - 1, int(len(s) * 0.99))] * 1000,
            "mean_ms": statistics.fmean(s) * 1000}


def fmt(d: dict) -> str:
    parts = []
    if "per_s" in d:
        parts.append(f"{d['per_s']:8.0f} writes/s ({d['writes']} in total, {d['errors']} errors)")
    if d.get("n"):
        parts.append(f"median {d['median_ms']:6.2f} ms  p99 {d['p99_ms']:6.2f} ms  (n={d['n']})")
    if "leader_cpu_us_per_write" in d:
        parts.append(f"\n{'':32s}server CPU per write: leader {d['leader_cpu_us_per_write']:.0f} us, "
                     f"all 3 members {d['all_servers_cpu_us_per_write']:.0f} us")
    return "  ".join(parts)


def bench_raftstore(args: argparse.Namespace, max_batch: int | None = None) -> dict:
    extra = args.raftstore_args.split()
    if max_batch:
        extra += ["--max-batch", str(max_batch)]
    with RaftCluster(extra_args=extra) as c:
        leader = c.wait_leader()
        follower = c.followers()[0]
        sequential(Target("raftstore", "raftstore"), leader.http, 50, "warm")
        pids = [leader.proc.pid] + [r.proc.pid for r in c.replicas if r is not leader]
        out = run_all(Target("raftstore", "raftstore"), leader.http, follower.http, args, pids,
                      [r.http for r in c.replicas])
        st = leader.status()
        out["raft_entries"] = st["raft_entries_proposed"]
        out["commands"] = st["commands_proposed"]
        return out


def bench_single(args: argparse.Namespace) -> dict:
    """A lone replica (`cox cluster up --masters 1`): one writer."""
    with RaftCluster(n=1, extra_args=args.raftstore_args.split()) as c:
        leader = c.wait_leader()
        sequential(Target("raftstore", "raftstore"), leader.http, 50, "warm")
        return summary(sequential(Target("raftstore", "raftstore"), leader.http, args.n, "s"))


def bench_etcd(args: argparse.Namespace) -> dict:
    e = EtcdCluster().start()
    try:
        leader = e.leader()
        assert leader is not None
        follower = next(m for m in e.names if m != leader)
        t = Target("etcd", "etcd")
        sequential(t, e.client_addr[leader], 50, "warm")
        pids = [e.procs[leader].pid] + [e.procs[m].pid for m in e.names if m != leader]
        return run_all(t, e.client_addr[leader], e.client_addr[follower], args, pids,
                       [e.client_addr[m] for m in e.names])
    finally:
        e.stop()


def run_all(t: Target, leader: str, follower: str, args: argparse.Namespace,
            pids: list[int], members: list[str]) -> dict:
    return {
        "leader": summary(sequential(t, leader, args.n, "l")),
        "follower": summary(sequential(t, follower, args.n, "f")),
        "concurrent": concurrent(t, [leader], args.writers, args.procs, args.seconds, pids),
        "spread": concurrent(t, members, args.writers, args.procs, args.seconds, pids),
    }


def report(name: str, r: dict) -> None:
    print(f"\n{name}")
    print(f"  1 writer on the leader      {fmt(r['leader'])}")
    print(f"  1 writer via a follower     {fmt(r['follower'])}")
    print(f"  {args_writers} writers, all on the leader {fmt(r['concurrent'])}")
    print(f"  {args_writers} writers, spread on 3     {fmt(r['spread'])}")
    if "raft_entries" in r:
        print(f"  group commit: {r['commands']} commands in {r['raft_entries']} Raft entries "
              f"({r['commands'] / max(1, r['raft_entries']):.1f} per entry, leader's proposals only)")


args_writers = 16


def main(argv: list[str] | None = None) -> int:
    global args_writers
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=1000, help="sequential writes per latency run")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--procs", type=int, default=4, help="client processes for the writers")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--no-etcd", action="store_true")
    p.add_argument("--raftstore-args", default="",
                   help="extra flags for the replicas, e.g. '--max-inflight 1'")
    p.add_argument("--compare-batching", action="store_true",
                   help="also run raftstore with group commit off (--max-batch 1)")
    args = p.parse_args(argv)
    args_writers = args.writers
    print(f"3 replicas on loopback, {len(VALUE_JSON)}-byte values, HTTP/1.1 keep-alive JSON, "
          f"{args.writers} writers in {args.procs} client processes for {args.seconds:g}s")
    results: dict[str, dict] = {"raftstore": bench_raftstore(args)}
    report("raftstore (group commit on)", results["raftstore"])
    results["raftstore_single"] = bench_single(args)
    print(f"  1 writer, a lone replica    {fmt(results['raftstore_single'])}")
    if args.compare_batching:
        results["raftstore_nobatch"] = bench_raftstore(args, max_batch=1)
        report("raftstore (group commit off: --max-batch 1)", results["raftstore_nobatch"])
    if not args.no_etcd:
        results["etcd"] = bench_etcd(args)
        report("etcd 3.4.x (same client pattern, /v3/kv/put JSON gateway)", results["etcd"])
        r, e = results["raftstore"], results["etcd"]
        print("\nraftstore / etcd")
        for k in ("leader", "follower"):
            print(f"  {k:8s} median latency ratio {r[k]['median_ms'] / e[k]['median_ms']:.2f}, "
                  f"p99 ratio {r[k]['p99_ms'] / e[k]['p99_ms']:.2f}")
        for k in ("concurrent", "spread"):
            print(f"  throughput ratio ({k}) {r[k]['per_s'] / e[k]['per_s']:.2f}")
    print("\nJSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
