"""Creating objects through the API next to etcd 3.4's JSON gateway, same
client style against both (a ``requests.Session`` per thread, HTTP/1.1
keep-alive, the same JSON document per write), 3 members on loopback.

    python -m tests.bench.api_bench [--n 500] [--writers 16] [--procs 4]
                                    [--seconds 5] [--preload 20000] [--no-etcd]

coxswain: POST a ConfigMap to /api/v1/namespaces/default/configmaps on 3 real
master processes. etcd: PUT the same ConfigMap JSON under a fresh key with
/v3/kv/put. Figures: one writer p50/p99 on the leader and through a follower,
then W writers on the leader spread over P client processes for a fixed time
(writes/s). With ``--preload N`` both stores are then filled to N objects and
everything is measured again, to show how a write's cost grows with the store.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.bench.raft_bench import cpu_seconds, writer_processes
from tests.bench.raft_etcd import EtcdCluster
from tests.masters import MasterCluster
from tests.support import https_session, wait_until

MAX_OPS_PER_WRITER = 200_000
NAMESPACE = "default"


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "bench"}},
            "data": {"key": "x" * 100}}


@dataclass(frozen=True)
class Target:
    """How one system is written to: ``url`` picks the member."""

    kind: str  # "coxswain" | "etcd"
    token: str = ""
    ca_file: str = ""  # coxswain serves HTTPS (etcd here plain HTTP)

    def session(self) -> requests.Session:
        s = https_session(self.ca_file) if self.ca_file else requests.Session()
        if self.token:
            s.headers["Authorization"] = f"Bearer {self.token}"
        return s

    def write(self, s: requests.Session, url: str, name: str) -> None:
        if self.kind == "etcd":
            key = base64.b64encode(f"/registry/configmaps/{NAMESPACE}/{name}".encode()).decode()
            value = base64.b64encode(json.dumps(configmap(name)).encode()).decode()
            r = s.post(url + "/v3/kv/put", json={"key": key, "value": value}, timeout=10)
        else:
            r = s.post(f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps",
                       json=configmap(name), timeout=10)
        if r.status_code >= 300:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")


def summary(lat: list[float]) -> dict:
    if not lat:
        return {"n": 0}
    s = sorted(lat)
    return {"n": len(s), "p50_ms": statistics.median(s) * 1000,
            "p99_ms": s[min(len(s) - 1, int(len(s) * 0.99))] * 1000}


def sequential(t: Target, url: str, n: int, tag: str) -> dict:
    s = t.session()
    lat = []
    deadline = time.monotonic() + 120
    try:
        for i in range(n):
            t0 = time.perf_counter()
            t.write(s, url, f"{tag}-{i:07d}")
            lat.append(time.perf_counter() - t0)
            if time.monotonic() > deadline:
                break
    finally:
        s.close()
    return summary(lat)


def _writer_process(t: Target, url: str, threads: int, first: int, tag: str, start_at: float,
                    seconds: float, per_writer: int, out: multiprocessing.Queue) -> None:
    results: list[tuple[int, int]] = []
    lock = threading.Lock()

    def run(w: int) -> None:
        s = t.session()
        done = errors = 0
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        for i in range(per_writer):
            if time.time() >= end:
                break
            try:
                t.write(s, url, f"{tag}-{w}-{i:07d}")
                done += 1
            except Exception:  # noqa: BLE001 - counted, not fatal
                errors += 1
                s.close()
                s = t.session()
        s.close()
        with lock:
            results.append((done, errors))

    ts = [threading.Thread(target=run, args=(first + k,)) for k in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    out.put(results)


def concurrent(t: Target, url: str, writers: int, procs: int, seconds: float, tag: str,
               pids: list[int], per_writer: int = MAX_OPS_PER_WRITER) -> dict:
    """W writers spread over P processes for ``seconds`` (or ``per_writer`` writes each)."""
    cpu0 = cpu_seconds(pids)
    start_at = time.time() + 1.0
    results = writer_processes(
        writers, procs, seconds + 120,
        lambda count, first, q: (_writer_process,
                                 (t, url, count, first, tag, start_at, seconds, per_writer, q)))
    elapsed = min(seconds, time.time() - start_at)
    done = sum(d for d, _ in results)
    cpu = [b - a for a, b in zip(cpu0, cpu_seconds(pids), strict=True)]
    return {"writes": done, "errors": sum(e for _, e in results), "per_s": done / elapsed,
            "leader_cpu_us_per_write": cpu[0] / max(1, done) * 1e6}


def preload(t: Target, url: str, n: int, pids: list[int]) -> None:
    """Fill the store to ``n`` objects (16 writers; stops after 15 minutes at worst)."""
    if n <= 0:
        return
    t0 = time.monotonic()
    r = concurrent(t, url, 16, 4, 900.0, "pre", pids, per_writer=-(-n // 16))
    print(f"    preloaded {r['writes']} objects in {time.monotonic() - t0:.0f}s "
          f"({r['errors']} errors)", flush=True)


def run_all(t: Target, leader: str, follower: str, args: argparse.Namespace,
            pids: list[int], tag: str) -> dict:
    sequential(t, leader, 50, f"{tag}warm")
    return {"leader": sequential(t, leader, args.n, f"{tag}l"),
            "follower": sequential(t, follower, args.n, f"{tag}f"),
            "concurrent": concurrent(t, leader, args.writers, args.procs, args.seconds,
                                     f"{tag}c", pids)}


def measure(t: Target, leader: str, follower: str, args: argparse.Namespace,
            pids: list[int]) -> dict:
    out = {"empty": run_all(t, leader, follower, args, pids, "e")}
    if args.preload:
        preload(t, leader, args.preload, pids)
        out["preloaded"] = run_all(t, leader, follower, args, pids, "p")
    return out


def bench_coxswain(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="api-bench-") as d:
        mc = MasterCluster.create(Path(d), extra=args.master_args.split())
        try:
            t = Target("coxswain", mc.token, mc.ca_file)
            leader = wait_until(mc.leader, 30, what="a leader")
            follower = next(m for m in mc.masters if m is not leader)
            s = t.session()
            wait_until(lambda: s.get(f"{leader.url}/api/v1/namespaces/{NAMESPACE}",
                                     timeout=2).ok, 30, what="the default namespace")
            s.close()
            pids = [leader.proc.pid] + [m.proc.pid for m in mc.masters  # type: ignore[union-attr]
                                        if m is not leader]
            if args.pause:
                print(f"    coxswain leader pid {pids[0]}, follower pid "
                      f"{follower.proc.pid}; press Enter", flush=True)  # type: ignore[union-attr]
                input()
            return measure(t, leader.url, follower.url, args, pids)
        finally:
            mc.stop()


def bench_etcd(args: argparse.Namespace) -> dict:
    e = EtcdCluster().start()
    try:
        leader = e.leader()
        assert leader is not None
        follower = next(m for m in e.names if m != leader)
        pids = [e.procs[leader].pid] + [e.procs[m].pid for m in e.names if m != leader]
        return measure(Target("etcd"), "http://" + e.client_addr[leader],
                       "http://" + e.client_addr[follower], args, pids)
    finally:
        e.stop()


def fmt_latency(d: dict) -> str:
    return f"p50 {d['p50_ms']:6.2f} ms  p99 {d['p99_ms']:6.2f} ms (n={d['n']})"


def fmt_rate(d: dict) -> str:
    return (f"{d['per_s']:6.0f} writes/s ({d['writes']} writes, {d['errors']} errors, "
            f"leader CPU {d['leader_cpu_us_per_write']:.0f} us/write)")


def report(results: dict, writers: int) -> None:
    rows: list[tuple[str, str, Callable[[dict], str]]] = [
        ("leader", "1 writer, leader", fmt_latency),
        ("follower", "1 writer, via a follower", fmt_latency),
        ("concurrent", f"{writers} writers, leader", fmt_rate)]
    for phase in ("empty", "preloaded"):
        if phase not in results["coxswain"]:
            continue
        print(f"\n{'store empty' if phase == 'empty' else 'after the preload'}")
        for key, label, f in rows:
            for system in ("coxswain", "etcd"):
                if system in results:
                    print(f"  {label:26s} {system:8s} {f(results[system][phase][key])}")
            if "etcd" in results:
                c, e = results["coxswain"][phase][key], results["etcd"][phase][key]
                ratio = (c["per_s"] / e["per_s"] if key == "concurrent"
                         else c["p50_ms"] / e["p50_ms"])
                what = "throughput" if key == "concurrent" else "p50"
                print(f"  {'':26s} ratio    {what} x{ratio:.2f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="sequential writes per latency run")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--procs", type=int, default=4, help="client processes for the writers")
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--preload", type=int, default=0,
                   help="then fill each store to N objects and measure again")
    p.add_argument("--no-etcd", action="store_true")
    p.add_argument("--master-args", default="", help="extra flags for `cox master run`")
    p.add_argument("--pause", action="store_true",
                   help="wait for Enter before measuring (to attach a profiler)")
    args = p.parse_args(argv)
    cmd = "python -m tests.bench.api_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"3 members on loopback; ConfigMap of {len(json.dumps(configmap('x' * 12)))} bytes "
          f"per write; requests.Session per thread; {args.writers} writers in {args.procs} "
          f"client processes for {args.seconds:g}s; preload {args.preload}", flush=True)
    results: dict[str, dict] = {}
    print("  coxswain ...", flush=True)
    results["coxswain"] = bench_coxswain(args)
    if not args.no_etcd:
        print("  etcd ...", flush=True)
        results["etcd"] = bench_etcd(args)
    report(results, args.writers)
    print(f"\nreproduce: {cmd.strip()}")
    print("JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
