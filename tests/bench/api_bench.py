"""Creating objects through the API next to etcd 3.4's JSON gateway, same
client style against both (a ``requests.Session`` per thread, HTTP/1.1
keep-alive, the same JSON document per write), 3 members on loopback.

    python -m tests.bench.api_bench [--rounds 5] [--n 200] [--writers 16] [--procs 4]
                                    [--seconds 3] [--preload 20000] [--no-etcd | --etcd-tls]

coxswain: POST a ConfigMap to /api/v1/namespaces/default/configmaps on 3 real
master processes. etcd: PUT the same ConfigMap JSON under a fresh key with
/v3/kv/put. Figures: one writer p50/p99 on the leader and through a follower,
then W writers on the leader spread over P client processes for a fixed time
(writes/s). With ``--preload N`` both stores are then filled to N objects and
everything is measured again, to show how a write's cost grows with the store.

Both clusters run at once and are measured side by side: one writer creates
on each in turns, request by request (coxswain, etcd, etcd, coxswain, ...),
and the W writers run for a few seconds on each in turns, in short rounds:
this machine's load changes from minute to minute, and a change then hits
both systems alike. Each figure is the median over the rounds; each ratio
the median of the per-round ratios.

etcd speaks plain HTTP to its clients and its peers, as issue 8 measured it,
while coxswain always serves HTTPS and seals its Raft traffic. ``--etcd-tls``
runs etcd as kubeadm does for Kubernetes, TLS on both, for a like-for-like
figure beside the issue's.
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
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.bench import reproduce
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


def event(name: str) -> dict:
    """An Event about the size of ``configmap``'s (the API gives Events a shared store lease)."""
    return {"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "involvedObject": {"kind": "Pod", "name": "bench", "namespace": NAMESPACE},
            "reason": "Bench", "type": "Normal", "message": "x" * 100}


BODIES = {"configmaps": configmap, "events": event}  # what coxswain's writers create
# or: each writer creates a Service, then writes its status again and again
# from the last answer (its resourceVersion), as a kubelet writes its pods'
STATUS = "services/status"
# or: each writer asks for a token of the namespace's default ServiceAccount, as
# a node agent does for every pod it starts (nothing is written)
TOKEN = "serviceaccounts/token"
# or: each writer creates a ConfigMap and deletes it (two requests per write)
DELETE = "configmaps/delete"
RESOURCES = (*BODIES, STATUS, TOKEN, DELETE)


@dataclass(frozen=True)
class Target:
    """How one system is written to: ``url`` picks the member."""

    kind: str  # "coxswain" | "etcd"
    token: str = ""
    ca_file: str = ""  # HTTPS, verified against this CA (coxswain always; etcd with TLS)
    resource: str = "configmaps"  # coxswain: one of RESOURCES

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
        elif self.resource == STATUS:
            r = self._status_write(s, url, name)
        elif self.resource == DELETE:
            items = f"{url}/api/v1/namespaces/{NAMESPACE}/configmaps"
            r = s.post(items, json=configmap(name), timeout=10)
            if r.status_code < 300:
                r = s.delete(f"{items}/{name}", timeout=10)
        elif self.resource == TOKEN:
            r = s.post(f"{url}/api/v1/namespaces/{NAMESPACE}/serviceaccounts/default/token",
                       json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                             "spec": {}}, timeout=10)
        else:
            r = s.post(f"{url}/api/v1/namespaces/{NAMESPACE}/{self.resource}",
                       json=BODIES[self.resource](name), timeout=10)
        if r.status_code >= 300:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:200]}")

    @staticmethod
    def _status_write(s: requests.Session, url: str, name: str) -> requests.Response:
        services = f"{url}/api/v1/namespaces/{NAMESPACE}/services"
        last = getattr(s, "bench_service", None)  # this writer's Service, as last written
        if last is None:
            r = s.post(services, json={"metadata": {"name": f"st-{name}"},
                                       "spec": {"ports": [{"port": 80}]}}, timeout=10)
        else:
            url = f"{services}/{last['metadata']['name']}"
            status = {"loadBalancer": {"ingress": [{"hostname": f"h-{name}"}]}}
            r = s.put(f"{url}/status", json={**last, "status": status}, timeout=10)
            if r.status_code == 409:  # changed since (its ClusterIP is allocated after
                # the create): from the latest, as a kubelet's retry on conflict
                last = s.get(url, timeout=10).json()
                r = s.put(f"{url}/status", json={**last, "status": status}, timeout=10)
        if r.status_code < 300:
            s.bench_service = r.json()  # type: ignore[attr-defined]
        return r


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

    cpu0 = time.process_time()
    ts = [threading.Thread(target=run, args=(first + k,)) for k in range(threads)]
    for th in ts:
        th.start()
    for th in ts:
        th.join()
    cpu = (time.process_time() - cpu0) / max(1, len(results))  # each thread's share
    out.put([(done, errors, cpu) for done, errors in results])


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
    done = sum(d for d, _, _ in results)
    cpu = [b - a for a, b in zip(cpu0, cpu_seconds(pids), strict=True)]
    return {"writes": done, "errors": sum(e for _, e, _ in results), "per_s": done / elapsed,
            "leader_cpu_us_per_write": cpu[0] / max(1, done) * 1e6,
            # all members: on a 2-core machine the followers' share limits writes too
            "members_cpu_us_per_write": sum(cpu) / max(1, done) * 1e6,
            # and the writers' own (HTTPS to coxswain, plain HTTP to etcd here)
            "client_cpu_us_per_write": sum(c for _, _, c in results) / max(1, done) * 1e6}


def preload(t: Target, url: str, n: int, pids: list[int]) -> None:
    """Fill the store to ``n`` objects (16 writers; stops after 15 minutes at worst)."""
    if n <= 0:
        return
    t0 = time.monotonic()
    r = concurrent(t, url, 16, 4, 900.0, "pre", pids, per_writer=-(-n // 16))
    print(f"    preloaded {r['writes']} objects in {time.monotonic() - t0:.0f}s "
          f"({r['errors']} errors)", flush=True)


SYSTEMS = ("coxswain", "etcd")
KEYS = ("leader", "follower", "concurrent")


@dataclass
class Endpoint:
    """One running system: how to write to it, its leader and a follower, its
    server pids (leader first, for CPU per write)."""

    target: Target
    leader: str
    follower: str
    pids: list[int]


def alternating(systems: dict[str, Endpoint], member: str, n: int, tag: str) -> dict[str, dict]:
    """One writer per system, writing in turns (A B, B A, ...): each pair of
    writes meets the same load. ``member``: "leader" or "follower"."""
    order = list(systems)
    sessions = {name: e.target.session() for name, e in systems.items()}
    lat: dict[str, list[float]] = {name: [] for name in order}
    deadline = time.monotonic() + 240
    try:
        for i in range(n):
            for name in (order if i % 2 == 0 else order[::-1]):
                e = systems[name]
                t0 = time.perf_counter()
                e.target.write(sessions[name], getattr(e, member), f"{tag}-{i:07d}")
                lat[name].append(time.perf_counter() - t0)
            if time.monotonic() > deadline:
                break
    finally:
        for session in sessions.values():
            session.close()
    return {name: summary(lat[name]) for name in order}


def interleaved(systems: dict[str, Endpoint], args: argparse.Namespace, phase: str) -> list[dict]:
    """``args.rounds`` rounds. In each, one writer per system creates in turns
    on the leaders, then through followers; then the W writers run on each
    system for ``args.seconds`` in turns (A B, then B A in the next round, so
    neither always goes first). A change of the machine's load hits both
    systems alike, and each round gives its own ratio."""
    order = [s for s in SYSTEMS if s in systems] or list(systems)  # api_ab's builds
    rounds = []
    for r in range(args.rounds):
        out: dict[str, dict] = {s: {} for s in order}
        for member in ("leader", "follower"):
            for s, d in alternating(systems, member, args.n, f"{phase}{r}{member[0]}").items():
                out[s][member] = d
        for s in (order if r % 2 == 0 else order[::-1]):
            e = systems[s]
            out[s]["concurrent"] = concurrent(e.target, e.leader, args.writers, args.procs,
                                              args.seconds, f"{phase}{r}c", e.pids)
        rounds.append(out)
        print(f"    round {r + 1}/{args.rounds}: " + "; ".join(
            f"{s} {out[s]['leader'].get('p50_ms', 0):.2f}/"
            f"{out[s]['follower'].get('p50_ms', 0):.2f} ms {out[s]['concurrent']['per_s']:.0f}/s"
            for s in order), flush=True)
    return rounds


def ratio(c: dict, e: dict, key: str) -> float:
    if key == "concurrent":
        return c["per_s"] / e["per_s"] if e["per_s"] else float("nan")
    return c["p50_ms"] / e["p50_ms"]


def median_of(rounds: list[dict], system: str, key: str, field: str) -> float:
    return statistics.median(r[system][key][field] for r in rounds)


def measure(systems: dict[str, Endpoint], args: argparse.Namespace) -> dict:
    for name, e in systems.items():
        sequential(e.target, e.leader, 50, f"{name[0]}warm")
    out = {"empty": interleaved(systems, args, "e")}
    if args.preload:
        for e in systems.values():
            preload(e.target, e.leader, args.preload, e.pids)
        out["preloaded"] = interleaved(systems, args, "p")
    return out


@contextmanager
def coxswain(args: argparse.Namespace) -> Iterator[Endpoint]:
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
            yield Endpoint(t, leader.url, follower.url, pids)
        finally:
            mc.stop()


@contextmanager
def etcd(tls: bool = False) -> Iterator[Endpoint]:
    e = EtcdCluster(tls=tls).start()
    try:
        leader = e.leader()
        assert leader is not None
        follower = next(m for m in e.names if m != leader)
        pids = [e.procs[leader].pid] + [e.procs[m].pid for m in e.names if m != leader]
        yield Endpoint(Target("etcd", ca_file=e.ca_file),
                       f"{e.scheme}://{e.client_addr[leader]}",
                       f"{e.scheme}://{e.client_addr[follower]}", pids)
    finally:
        e.stop()


def fmt_latency(rounds: list[dict], system: str, key: str) -> str:
    return (f"p50 {median_of(rounds, system, key, 'p50_ms'):6.2f} ms  "
            f"p99 {median_of(rounds, system, key, 'p99_ms'):6.2f} ms")


def fmt_rate(rounds: list[dict], system: str, key: str) -> str:
    return (f"{median_of(rounds, system, key, 'per_s'):6.0f} writes/s "
            f"({sum(r[system][key]['errors'] for r in rounds)} errors, leader CPU "
            f"{median_of(rounds, system, key, 'leader_cpu_us_per_write'):.0f} us/write, all "
            f"members {median_of(rounds, system, key, 'members_cpu_us_per_write'):.0f}, "
            f"writers {median_of(rounds, system, key, 'client_cpu_us_per_write'):.0f})")


def report(results: dict, writers: int, rounds: int) -> None:
    rows: list[tuple[str, str, Callable[[list[dict], str, str], str]]] = [
        ("leader", "1 writer, leader", fmt_latency),
        ("follower", "1 writer, via a follower", fmt_latency),
        ("concurrent", f"{writers} writers, leader", fmt_rate)]
    print(f"\nmedians of {rounds} interleaved rounds")
    for phase, phase_rounds in results.items():
        print(f"\n{'store empty' if phase == 'empty' else 'after the preload'}")
        for key, label, f in rows:
            for system in SYSTEMS:
                if system in phase_rounds[0]:
                    print(f"  {label:26s} {system:8s} {f(phase_rounds, system, key)}")
            if "etcd" in phase_rounds[0]:
                ratios = [ratio(r["coxswain"][key], r["etcd"][key], key) for r in phase_rounds]
                what = "throughput" if key == "concurrent" else "p50"
                print(f"  {'':26s} ratio    {what} x{statistics.median(ratios):.2f} "
                      f"(median of per-round ratios; rounds: "
                      f"{' '.join(f'{x:.2f}' for x in ratios)})")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per system")
    p.add_argument("--n", type=int, default=200, help="sequential writes per latency run")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--procs", type=int, default=4, help="client processes for the writers")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--preload", type=int, default=0,
                   help="then fill each store to N objects and measure again")
    p.add_argument("--no-etcd", action="store_true")
    p.add_argument("--etcd-tls", action="store_true",
                   help="etcd with TLS on client and peer connections (as kubeadm runs it)")
    p.add_argument("--master-args", default="", help="extra flags for `cox master run`")
    p.add_argument("--pause", action="store_true",
                   help="wait for Enter before measuring (to attach a profiler)")
    args = p.parse_args(argv)
    cmd = reproduce("tests.bench.api_bench", argv)
    etcd_is = "" if args.no_etcd else (
        "; etcd with TLS (client and peer)" if args.etcd_tls else "; etcd on plain HTTP")
    print(f"3 members on loopback{etcd_is}; ConfigMap of {len(json.dumps(configmap('x' * 12)))} bytes "
          f"per write; requests.Session per thread; {args.writers} writers in {args.procs} "
          f"client processes for {args.seconds:g}s; preload {args.preload}", flush=True)
    with ExitStack() as stack:
        systems = {"coxswain": stack.enter_context(coxswain(args))}
        if not args.no_etcd:
            systems["etcd"] = stack.enter_context(etcd(args.etcd_tls))
        results = measure(systems, args)
    report(results, args.writers, args.rounds)
    print(f"\nreproduce: {cmd}")
    print("JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
