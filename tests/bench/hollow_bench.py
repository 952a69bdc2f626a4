"""A 100-node cluster on one machine: hollow nodes (tests/hollow.py, the real
agent over an in-memory runtime) against three real masters on loopback.

Phases, each timed through the API (one watch of all pods in this process):
  1. a Deployment of --pods pods: created -> bound -> Running, as the hollow
     agents report it (the target: >= 200 pods/s end to end);
  2. a rolling update of all of them (a new image);
  3. node lifecycle: --silent hollow nodes go silent (their process is
     SIGSTOPped); the masters mark them unreachable, evict their pods and
     the ReplicaSet recreates them on the others (timeouts shortened with the
     master's --node-grace-period and --eviction-timeout).
The masters' CPU (user+sys seconds, and share of one core) and peak RSS are
printed for each phase; with --profile the leader is sampled with py-spy
during phases 1 and 2 and its hottest functions are printed.

    python -m tests.bench.hollow_bench [--nodes 100] [--pods 3000] [--silent 10]
        [--procs 3] [--node-grace-period 15] [--eviction-timeout 2] [--profile]

Loopback only; everything started here is ended by its pid.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import logging
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from coxapi import errors
from coxapi.client import Client
from coxapi.informer import Informer
from tests.bench import breakdown
from tests.bench.threadcpu import ThreadCpu
from tests.masters import MasterCluster
from tests.support import Proc

Obj = dict[str, Any]
NS = "default"
APP = "hollow-bench"


# ---- what the masters use -------------------------------------------------------------


@dataclass
class Usage:
    cpu: float  # user + system seconds
    rss: int  # peak bytes


class Sampler:
    """CPU seconds and peak RSS of a set of processes over a phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._start: dict[str, float] = {}
        self._peak: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _cpu(self, p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def _sample(self) -> None:
        for name, p in self.procs.items():
            with contextlib.suppress(psutil.Error):
                self._peak[name] = max(self._peak.get(name, 0), p.memory_info().rss)

    def __enter__(self) -> Sampler:
        self._start = {n: self._cpu(p) for n, p in self.procs.items()}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        self.usage = {n: Usage(self._cpu(p) - self._start[n], self._peak.get(n, 0))
                      for n, p in self.procs.items()}

    def report(self, seconds: float, leader: str) -> str:
        rows = []
        for name, u in self.usage.items():
            tag = " (leader)" if name == leader else ""
            rows.append(f"    {name}{tag}: cpu {u.cpu:6.1f} s = {u.cpu / seconds * 100:4.0f} % "
                        f"of a core, peak RSS {u.rss / 2**20:5.0f} MiB")
        return "\n".join(rows)


# ---- pods as the API shows them ---------------------------------------------------------


@dataclass
class PodTimes:
    created: float
    bound: float | None = None
    running: float | None = None
    node: str = ""
    image: str = ""
    gone: bool = False


@dataclass
class Tracker:
    """Times at which this process saw each pod created, bound and Running."""

    pods: dict[str, PodTimes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, pod: Obj) -> None:
        now = time.monotonic()
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        with self.lock:
            t = self.pods.setdefault(meta["uid"], PodTimes(created=now))
            t.image = (spec.get("containers") or [{}])[0].get("image", "")
            if spec.get("nodeName") and t.bound is None:
                t.bound, t.node = now, spec["nodeName"]
            if status.get("phase") == "Running" and t.running is None:
                t.running = now
            t.gone = t.gone or bool(meta.get("deletionTimestamp"))

    def deleted(self, pod: Obj) -> None:
        with self.lock:
            t = self.pods.get(pod["metadata"]["uid"])
            if t is not None:
                t.gone = True

    def live(self, pred: Callable[[PodTimes], bool] = lambda t: True) -> list[PodTimes]:
        with self.lock:
            return [t for t in self.pods.values() if not t.gone and pred(t)]

    def running(self, image: str, nodes: set[str] | None = None) -> int:
        return len(self.live(lambda t: t.running is not None and t.image == image
                             and (nodes is None or t.node in nodes)))


def wait_for(what: str, cond: Callable[[], bool], timeout: float,
             progress: Callable[[], str] = lambda: "") -> float:
    """Poll ``cond`` every 50 ms; the monotonic time it first held. Exits on timeout."""
    deadline = time.monotonic() + timeout
    last_print = time.monotonic()
    while not cond():
        now = time.monotonic()
        if now > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what} "
                             f"({progress()})")
        if progress and now - last_print > 5:
            print(f"    ... {progress()}", flush=True)
            last_print = now
        time.sleep(0.05)
    return time.monotonic()


def retried(call: Callable[[], Any], attempts: int = 10) -> Any:
    """An idempotent write, again while the masters elect a leader."""
    for i in range(attempts):
        try:
            return call()
        except errors.AlreadyExists:
            return None  # an attempt whose outcome was unknown did it
        except (errors.Unavailable, errors.ClusterUnreachable):
            if i == attempts - 1:
                raise
            time.sleep(1)
    return None


def rate_line(label: str, n: int, seconds: float) -> str:
    return f"  {label}: {n} pods in {seconds:6.2f} s = {n / seconds:6.1f} pods/s"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def deployment(replicas: int, image: str) -> Obj:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": APP, "namespace": NS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {"terminationGracePeriodSeconds": 5, "containers": [{
                    "name": "app", "image": image,
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
            },
        },
    }


# ---- profiling ---------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(pid: int, out: Path, enabled: bool) -> Iterator[None]:
    """py-spy record of ``pid`` (raw collapsed stacks) while the block runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not enabled or not Path(spy).exists():
        if enabled:
            print("  (py-spy not found: no profile)")
        yield
        return
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "50", "--nonblocking", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            err = b""
        if proc.returncode not in (0, -signal.SIGINT) and not out.exists():
            print(f"  (py-spy failed: {err.decode(errors='replace').strip()[-300:]})")


def summarise_profile(path: Path, top: int = 15) -> str:
    """The leader's hottest functions (self and inclusive), from py-spy's raw output."""
    if not path.exists():
        return "  (no profile)"
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        threads[frames[0]] += n
        own[frames[-1]] += n
        for f in set(frames[1:]):
            incl[f] += n
    if not total:
        return "  (empty profile)"
    lines = [f"  {total} samples of the leader (idle threads included; py-spy --nonblocking)",
             "  by thread:"]
    lines += [f"    {n / total * 100:5.1f} %  {f}" for f, n in threads.most_common(8)]
    lines.append("  self time:")
    lines += [f"    {n / total * 100:5.1f} %  {f}" for f, n in own.most_common(top)]
    lines.append("  inclusive (coxswain code):")
    ours = [(f, n) for f, n in incl.most_common()
            if any(p in f for p in ("master/", "raftstore/", "coxapi/"))]
    lines += [f"    {n / total * 100:5.1f} %  {f}" for f, n in ours[:top]]
    return "\n".join(lines)


# ---- the run -------------------------------------------------------------------------------


def start_hollow(mc: MasterCluster, groups: list[list[str]], tmp: Path,
                 heartbeat: float, sync_period: float) -> list[Proc]:
    token_file = tmp / "bench-token"
    token_file.write_text(mc.token)
    procs = []
    for i, names in enumerate(groups):
        argv = [sys.executable, "-m", "tests.hollow", "--token-file", str(token_file),
                "--ca-file", mc.ca_file, "--data-dir", str(tmp / "hollow"), "--heartbeat-period", str(heartbeat),
                "--sync-period", str(sync_period),
                *[a for m in mc.masters for a in ("--master", m.url)], *names]
        procs.append(Proc(argv, str(tmp / f"hollow-{i}.log")))
    return procs


def ready_nodes(client: Client) -> set[str]:
    out = set()
    for n in client.list("Node")["items"]:
        conds = {c["type"]: c["status"] for c in n.get("status", {}).get("conditions") or []}
        if conds.get("Ready") == "True" and (n.get("spec") or {}).get("podCIDR"):
            out.add(n["metadata"]["name"])
    return out


def raft_term(mc: MasterCluster) -> int:
    terms = []
    for m in mc.masters:
        st = breakdown.patiently(f"{m.name} /status/raft",
                                 lambda m=m: m.raft_status(mc.token, breakdown.PATIENCE))
        if st is not None:
            terms.append(int(st["term"]))
    return max(terms, default=0)


def raft_commands(mc: MasterCluster) -> tuple[int, int]:
    """Commands (writes and linearizable-read barriers) and Raft entries proposed
    so far, summed over the masters: what the work costs, whatever the machine."""
    commands = entries = 0
    for m in mc.masters:
        st = breakdown.patiently(f"{m.name} /status/raft",
                                 lambda m=m: m.raft_status(mc.token, breakdown.PATIENCE))
        if st is not None:
            commands += int(st["commands_proposed"])
            entries += int(st["raft_entries_proposed"])
    return commands, entries


def raft_line(before: tuple[int, int], after: tuple[int, int], pods: int) -> str:
    commands, entries = after[0] - before[0], after[1] - before[1]
    return (f"  Raft: {commands} commands (writes + read barriers) = {commands / pods:.1f} "
            f"per pod, {commands / max(entries, 1):.1f} per entry")


def run(args: argparse.Namespace, tmp: Path) -> None:
    extra = ["--node-grace-period", str(args.node_grace_period),
             "--eviction-timeout", str(args.eviction_timeout), "--log-level", "warning",
             "--raft-election-timeout-min", str(args.election_timeout),
             "--raft-election-timeout-max", str(2 * args.election_timeout)]
    mc = MasterCluster.create(tmp, extra=extra)
    hollow: list[Proc] = []
    tracker = Tracker()
    informer: Informer | None = None
    try:
        client = mc.client()
        names = [f"hollow-{i:03d}" for i in range(args.nodes)]
        silent, awake = names[len(names) - args.silent:], names[:len(names) - args.silent]
        groups = [awake[i::args.procs] for i in range(args.procs)] + ([silent] if silent else [])
        t0 = time.monotonic()
        hollow = start_hollow(mc, groups, tmp, args.heartbeat_period, args.sync_period)
        wait_for(f"{args.nodes} hollow nodes Ready", lambda: len(ready_nodes(client)) >= args.nodes,
                 args.timeout, lambda: f"{len(ready_nodes(client))} Ready")
        print(f"{args.nodes} hollow nodes registered and Ready in {time.monotonic() - t0:.1f} s "
              f"({len(hollow)} processes)", flush=True)

        informer = Informer(client, "Pod", NS, label_selector=f"app={APP}",
                            watch_timeout=300, name="bench-pods")
        informer.add_handler(tracker.seen, lambda _o, new: tracker.seen(new), tracker.deleted)
        informer.start()
        informer.wait_for_sync(30)

        pids = {m.name: m.proc.pid for m in mc.masters if m.proc is not None}
        hollow_pids = {f"hollow-procs-{i}": p.pid for i, p in enumerate(hollow)}
        print(idle_line(mc, pids, hollow_pids, args.nodes, "idle cluster"), flush=True)

        leader = mc.leader()
        assert leader is not None and leader.proc is not None
        n = args.pods

        # 1. create
        print(f"\n1. Deployment of {n} pods on {args.nodes} hollow nodes", flush=True)
        with Sampler(pids) as masters_use, Sampler(hollow_pids) as hollow_use, \
                ThreadCpu(leader.proc.pid) as leader_threads, \
                profiled(leader.proc.pid, tmp / "leader.prof", args.profile):
            term, start, raft0 = raft_term(mc), time.monotonic(), raft_commands(mc)
            kinds0 = breakdown.snapshot(mc)
            retried(lambda: client.create(deployment(n, "bench/app:v1")))
            end = wait_for(f"{n} pods Running", lambda: tracker.running("bench/app:v1") >= n,
                           args.timeout, lambda: progress(tracker))
        pods = tracker.live()
        created = [t.created for t in pods]
        bound = [t.bound for t in pods if t.bound is not None]
        running = [t.running for t in pods if t.running is not None]
        print(rate_line("created (seen by a watch)", len(created), max(created) - start))
        print(rate_line("bound", len(bound), max(bound) - start))
        print(rate_line("Running, end to end", n, end - start))
        lat = [t.running - t.created for t in pods if t.running is not None]
        print(f"  created -> Running per pod: p50 {pct(lat, .5):.2f} s, p99 {pct(lat, .99):.2f} s"
              f"; bound -> Running p50 "
              f"{pct([t.running - t.bound for t in pods if t.running and t.bound], .5):.2f} s")
        print(f"  pods per node: min {min(per_node(pods).values())}, "
              f"max {max(per_node(pods).values())}; first Running after "
              f"{min(running) - start:.2f} s")
        print("  masters:\n" + masters_use.report(end - start, leader.name))
        print("  the leader's CPU by thread (names from py-spy, when installed):\n"
              + leader_threads.report())
        print(f"  Raft elections during the phase: {raft_term(mc) - term}")
        print(raft_line(raft0, raft_commands(mc), n))
        print(breakdown.report(mc, client, kinds0, n, NS))
        print("  hollow node processes:\n" + hollow_use.report(end - start, ""))
        print(f"  CPU per pod: masters {cpu_ms(masters_use, n):.1f} ms, hollow nodes "
              f"{cpu_ms(hollow_use, n):.1f} ms")
        phase1 = n / (end - start)
        # what the cluster costs with the pods in place and nothing changing: the part
        # of the CPU per pod above that is background (heartbeats, usage samples, passes)
        print(idle_line(mc, pids, hollow_pids, args.nodes, f"idle with {n} pods Running"))
        if args.profile:
            print("  leader profile (py-spy):")
            print(summarise_profile(tmp / "leader.prof"))

        if args.only_create:
            print(f"\nend to end {phase1:.1f} pods/s (phases 2 and 3 skipped)")
            return

        # 2. rolling update
        print(f"\n2. rolling update of all {n} pods", flush=True)
        leader = mc.leader() or leader
        assert leader.proc is not None
        with Sampler(pids) as masters_use, Sampler(hollow_pids) as hollow_use, \
                ThreadCpu(leader.proc.pid) as leader_threads, \
                profiled(leader.proc.pid, tmp / "leader-rollout.prof", args.profile):
            term, start, raft0 = raft_term(mc), time.monotonic(), raft_commands(mc)
            kinds0 = breakdown.snapshot(mc)
            retried(lambda: client.patch("Deployment", APP, {"spec": {"template": {"spec": {
                "containers": [{"name": "app", "image": "bench/app:v2", "resources": {
                    "requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}, NS))
            end = wait_for(f"{n} new pods Running and the old ones gone",
                           lambda: tracker.running("bench/app:v2") >= n
                           and not tracker.live(lambda t: t.image == "bench/app:v1"),
                           args.timeout, lambda: progress(tracker))
        print(rate_line("replaced, end to end", n, end - start))
        print("  masters:\n" + masters_use.report(end - start, leader.name))
        print(f"  Raft elections during the phase: {raft_term(mc) - term}")
        print("  the leader's CPU by thread (names from py-spy, when installed):\n"
              + leader_threads.report())
        print(raft_line(raft0, raft_commands(mc), n))
        print(breakdown.report(mc, client, kinds0, n, NS, events=False))
        print(f"  CPU per replaced pod: masters {cpu_ms(masters_use, n):.1f} ms, hollow nodes "
              f"{cpu_ms(hollow_use, n):.1f} ms")
        if args.profile:
            print("  leader profile (py-spy):")
            print(summarise_profile(tmp / "leader-rollout.prof"))

        # 3. node lifecycle
        if silent:
            on_silent = len(tracker.live(lambda t: t.node in set(silent)))
            print(f"\n3. {len(silent)} hollow nodes go silent ({on_silent} pods on them; "
                  f"node grace {args.node_grace_period:g} s, eviction timeout "
                  f"{args.eviction_timeout:g} s)", flush=True)
            with Sampler(pids) as masters_use:
                term, start = raft_term(mc), time.monotonic()
                hollow[-1].signal(signal.SIGSTOP)
                unready = wait_for("the silent nodes NotReady",
                                   lambda: not (ready_nodes(client) & set(silent)),
                                   args.timeout)
                evicted = wait_for("their pods evicted",
                                   lambda: not tracker.live(lambda t: t.node in set(silent)),
                                   args.timeout, lambda: progress(tracker))
                end = wait_for(f"{n} pods Running on the other nodes",
                               lambda: tracker.running("bench/app:v2", set(awake)) >= n,
                               args.timeout, lambda: progress(tracker))
            print(f"  NotReady after {unready - start:.1f} s, pods evicted after "
                  f"{evicted - start:.1f} s, all {n} Running elsewhere after "
                  f"{end - start:.1f} s")
            print(rate_line(f"{on_silent} moved, from eviction to Running", on_silent,
                            end - evicted))
            print("  masters:\n" + masters_use.report(end - start, leader.name))
            print(f"  Raft elections during the phase: {raft_term(mc) - term}")

        verdict = "meets" if phase1 >= 200 else "falls short of"
        print(f"\nend to end {phase1:.1f} pods/s {verdict} the 200 pods/s target "
              f"(ratio {phase1 / 200:.2f})")
    finally:
        if informer is not None:
            informer.stop()
        for p in hollow:
            p.stop()
        mc.stop()


def idle_line(mc: MasterCluster, pids: dict[str, int], hollow_pids: dict[str, int],
              nodes: int, what: str, seconds: float = 10.0) -> str:
    """Raft commands per second and the CPU of the masters and of the hollow
    nodes over ``seconds`` of no API calls from the bench."""
    before, kinds0 = raft_commands(mc), breakdown.snapshot(mc)
    with Sampler(pids) as masters_use, Sampler(hollow_pids) as hollow_use:
        time.sleep(seconds)
    commands = raft_commands(mc)[0] - before[0]
    raft, api = breakdown.snapshot(mc)
    raft.subtract(kinds0[0])
    api.subtract(kinds0[1])

    def cores(s: Sampler) -> float:
        return sum(u.cpu for u in s.usage.values()) / seconds
    return (f"{what}: {commands / seconds:.1f} Raft commands/s ({commands / seconds / nodes:.2f} "
            f"per node per second); CPU: masters {cores(masters_use):.2f} cores, hollow nodes "
            f"{cores(hollow_use):.2f} cores\n  per second: Raft commands by resource "
            + ", ".join(f"{k} {v / seconds:.1f}" for k, v in raft.most_common(5) if v > 0)
            + "; API requests " + ", ".join(
                f"{k} {v / seconds:.1f}" for k, v in api.most_common(12)
                if v > 0 and not k.startswith(("slow ", "gc ", "refused "))))


def cpu_ms(sampler: Sampler, pods: int) -> float:
    """CPU milliseconds per pod, summed over the sampled processes."""
    return sum(u.cpu for u in sampler.usage.values()) / pods * 1000


def per_node(pods: list[PodTimes]) -> dict[str, int]:
    return dict(collections.Counter(t.node for t in pods))


def progress(tracker: Tracker) -> str:
    live = tracker.live()
    return (f"{len(live)} live pods, {sum(t.bound is not None for t in live)} bound, "
            f"{sum(t.running is not None for t in live)} Running")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--pods", type=int, default=3000)
    ap.add_argument("--silent", type=int, default=10, help="hollow nodes that go silent")
    ap.add_argument("--procs", type=int, default=3, help="processes for the other nodes")
    ap.add_argument("--heartbeat-period", type=float, default=5.0)
    # kubelet resyncs a pod once a minute: the agents act on their pod watch, and a
    # hollow container never exits on its own, so the periodic pass is mostly waste
    ap.add_argument("--sync-period", type=float, default=10.0,
                    help="the hollow agents' periodic pass, seconds")
    ap.add_argument("--node-grace-period", type=float, default=15.0)
    ap.add_argument("--eviction-timeout", type=float, default=2.0)
    ap.add_argument("--election-timeout", type=float, default=0.4,
                    help="the masters' Raft election timeout (min; max is twice it)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per phase, seconds")
    ap.add_argument("--profile", action="store_true", help="py-spy the leader in phases 1 and 2")
    ap.add_argument("--only-create", action="store_true",
                    help="phase 1 only (quicker runs side by side)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    tmp = Path(tempfile.mkdtemp(prefix="hollow-bench-"))
    try:
        run(args, tmp)
    finally:
        if args.keep:
            print(f"logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"command: python -m tests.bench.hollow_bench --nodes {args.nodes} --pods {args.pods} "
          f"--silent {args.silent} --procs {args.procs} --heartbeat-period "
          f"{args.heartbeat_period:g} --sync-period {args.sync_period:g} --node-grace-period {args.node_grace_period:g} "
          f"--eviction-timeout {args.eviction_timeout:g} --election-timeout "
          f"{args.election_timeout:g}" + (" --profile" if args.profile else "")
          + (" --only-create" if args.only_create else ""))
    print(f"python {sys.version.split()[0]}, {psutil.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
