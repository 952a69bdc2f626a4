"""Watches and lists against three real masters on loopback (tests.masters).

Prints, each with the target of issue 8:
- write throughput (16 writers creating ConfigMaps on the leader) with 0 and
  with 100 watchers of ConfigMaps on the leader, in rounds side by side, and
  the ratio of the medians (target >= 0.8);
- per-event delivery latency with 1,000 watchers, p50/p99 (target p99 <= 100 ms
  from the commit): the commit lies between the create request's start and its
  response, so both are printed, from the start (an upper bound) and from the
  response, the write's acknowledgement (a lower bound, below 0 when the event
  arrived first); and from the event's first arrival at any watcher (the
  fan-out's own spread);
- a master holding 10,000 watch streams: its RSS (target < 1 GB), /healthz p99
  meanwhile (target < 50 ms) and the write rate beside it (against the mean of
  the rate before they open and after they close). This phase comes first,
  over a store of a fixed size (the list's objects), so the figure does not
  grow with how many objects faster writes leave behind in the other phases;
- a list of 20,000 ConfigMaps (a namespace of their own) from the watch cache
  (resourceVersion=0, target <= 0.3 s) and a consistent one, and pages of 500
  (target <= 10 ms).

Watch clients are raw-socket readers on uvloop in separate processes, so the
bench's own parsing does not slow the master down or skew latencies.

    python -m tests.bench.watch_bench [--objects 20000] [--streams 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing as mp
import resource
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import uvloop

from tests.masters import MasterCluster
from tests.support import https_session

CM = "/api/v1/namespaces/default/configmaps"
FILL = "/api/v1/namespaces/fill/configmaps"  # the lists' objects, and no others


def _raise_fd_limit(n: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(max(soft, n), hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


# ---- watch clients (child processes) ----------------------------------------


async def _stream(host: str, port: int, token: str, path: str, rv: str, opened: list[int],
                  arrivals: dict[str, list[float]] | None, stop: asyncio.Event,
                  tls: ssl.SSLContext) -> None:
    reader, writer = await asyncio.open_connection(host, port, limit=1 << 22, ssl=tls)
    writer.write(f"GET {path}?watch=true&resourceVersion={rv}&timeoutSeconds=3600 HTTP/1.1\r\n"
                 f"Host: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    opened[0] += 1
    rest = b""
    try:
        while not stop.is_set():
            data = await reader.read(1 << 20)
            if not data:
                return
            if arrivals is None:
                continue
            now = time.time()
            data, cut = rest + data, data.rfind(b"\n")  # names are read from whole lines
            end = len(rest) + cut + 1 if cut >= 0 else 0
            data, rest = data[:end], data[end:]
            i = data.find(b'"name":"')
            while i >= 0:
                j = data.index(b'"', i + 8)
                arrivals.setdefault(data[i + 8:j].decode(), []).append(now)
                i = data.find(b'"name":"', j)
    finally:
        writer.close()


def watch_clients(host: str, port: int, token: str, path: str, rv: str, n: int, record: bool,
                  ready: mp.Queue, results: mp.Queue, stop_evt: mp.Event, ca_file: str) -> None:
    _raise_fd_limit(n + 100)
    tls = ssl.create_default_context(cafile=ca_file)

    async def main() -> None:
        opened = [0]
        arrivals: dict[str, list[float]] | None = {} if record else None
        stop = asyncio.Event()
        tasks = []
        for i in range(n):
            tasks.append(asyncio.create_task(_stream(host, port, token, path, rv, opened, arrivals,
                                                     stop, tls)))
            if i % 200 == 199:
                await asyncio.sleep(0.05)  # let the server accept in waves
        while opened[0] < n:
            await asyncio.sleep(0.05)
        ready.put(n)
        while not stop_evt.is_set():
            await asyncio.sleep(0.1)
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        results.put(arrivals or {})

    uvloop.run(main())


@contextlib.contextmanager
def watchers(url: str, token: str, ca_file: str, rv: str, n: int, record: bool = False,
             procs: int = 4, path: str = CM) -> Iterator[list[dict[str, list[float]]]]:
    """``n`` open watch streams (HTTPS) from ``procs`` processes; yields the list
    that receives each process's arrival times once the block ends."""
    host, port = url.removeprefix("https://").split(":")
    ctx = mp.get_context("fork")
    ready, results, stop = ctx.Queue(), ctx.Queue(), ctx.Event()
    per = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    ps = [ctx.Process(target=watch_clients, args=(host, int(port), token, path, rv, k, record,
                                                  ready, results, stop, ca_file), daemon=True)
          for k in per if k]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get(timeout=300)
    out: list[dict[str, list[float]]] = []
    try:
        yield out
    finally:
        stop.set()
        for _ in ps:
            out.append(results.get(timeout=60))
        for p in ps:
            p.join(10)


# ---- writers ----------------------------------------------------------------


def write_rate(url: str, token: str, ca_file: str, seconds: float, writers: int = 16,
               prefix: str = "w") -> float:
    stop = time.monotonic() + seconds
    counts = [0] * writers

    def run(i: int) -> None:
        s = https_session(ca_file)
        s.headers["Authorization"] = f"Bearer {token}"
        n = 0
        while time.monotonic() < stop:
            r = s.post(url + CM, json={"metadata": {"name": f"{prefix}-{i}-{n}"},
                                       "data": {"k": "v"}}, timeout=30)
            r.raise_for_status()
            n += 1
        counts[i] = n

    ts = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def fill(url: str, token: str, ca_file: str, total: int, writers: int = 16) -> None:
    """``total`` ConfigMaps (300-byte data) in the namespace ``fill``, created first."""
    s = https_session(ca_file)
    s.headers["Authorization"] = f"Bearer {token}"
    s.post(url + "/api/v1/namespaces", json={"metadata": {"name": "fill"}},
           timeout=30).raise_for_status()

    def run(i: int) -> None:
        s = https_session(ca_file)
        s.headers["Authorization"] = f"Bearer {token}"
        for n in range(i, total, writers):
            s.post(url + FILL, json={"metadata": {"name": f"fill-{n:06d}"},
                                     "data": {"k": "x" * 300}}, timeout=30).raise_for_status()

    ts = [threading.Thread(target=run, args=(i,)) for i in range(writers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=20_000)
    ap.add_argument("--streams", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    _raise_fd_limit(args.streams + 2_000)  # the masters inherit it
    print("command: python -m tests.bench.watch_bench " + " ".join(sys.argv[1:]))
    with tempfile.TemporaryDirectory() as tmp:
        mc = MasterCluster.create(Path(tmp))
        try:
            leader = mc.leader()
            assert leader is not None
            url, token, ca = leader.url, mc.token, mc.ca_file
            h = {"Authorization": f"Bearer {token}"}
            session = https_session(ca)  # one connection, as a client's informer keeps
            session.headers.update(h)
            rv = lambda: session.get(url + CM, params={"limit": "1"},  # noqa: E731
                                     timeout=10).json()["metadata"]["resourceVersion"]
            write_rate(url, token, ca, 2, prefix="warm")
            # The objects the lists read, first: the streams below are then held over a
            # store of a fixed size, not one that grows with how fast the rounds write.
            fill(url, token, ca, args.objects)

            proc = psutil.Process(leader.proc.pid)
            # Streams that are open but quiet (ConfigMaps of another namespace), as most
            # of a big cluster's are: what holding them costs, beside the writes (the rate
            # without them is taken before they open and after they close, its mean the base).
            before = write_rate(url, token, ca, args.seconds, prefix="s0")
            rss0 = proc.memory_info().rss
            with watchers(url, token, ca, rv(), args.streams, procs=8,
                          path="/api/v1/namespaces/quiet/configmaps"):
                rss = proc.memory_info().rss
                lat = []
                for _ in range(300):
                    t0 = time.perf_counter()
                    session.get(url + "/healthz", timeout=5).raise_for_status()
                    lat.append((time.perf_counter() - t0) * 1000)
                    time.sleep(0.005)
                with_streams = write_rate(url, token, ca, args.seconds, prefix="s1")
            after = write_rate(url, token, ca, args.seconds, prefix="s2")
            none = (before + after) / 2
            print(f"{args.streams:,} quiet watch streams on one master: RSS {rss / 2**20:.0f} MiB "
                  f"(before they opened {rss0 / 2**20:.0f} MiB, the store holding "
                  f"{args.objects:,} + the writes so far; target < 1024), /healthz p50 "
                  f"{pct(lat, 50):.1f} ms p99 {pct(lat, 99):.1f} ms (target < 50), writes/s "
                  f"{with_streams:.0f} vs {before:.0f} before and {after:.0f} after "
                  f"({with_streams / none:.2f} of none; target >= 0.80)")

            # Side by side, round after round: the machine's load drifts within minutes.
            bases, loads = [], []
            for r in range(args.rounds):
                bases.append(write_rate(url, token, ca, args.seconds, prefix=f"a{r}"))
                with watchers(url, token, ca, rv(), 100):
                    loads.append(write_rate(url, token, ca, args.seconds, prefix=f"b{r}"))
            base, loaded = statistics.median(bases), statistics.median(loads)
            ratios = " ".join(f"{b / a:.2f}" for a, b in zip(bases, loads, strict=True))
            print(f"writes/s, 16 writers, median of {args.rounds} rounds: {base:.0f} without "
                  f"watchers, {loaded:.0f} with 100 watchers: ratio {loaded / base:.2f} "
                  f"(rounds: {ratios}; target >= 0.80)")

            sent: dict[str, tuple[float, float]] = {}  # name: request start, response
            with watchers(url, token, ca, rv(), 1000, record=True, procs=8) as got:
                s = https_session(ca)
                s.headers.update(h)
                for i in range(100):
                    name = f"lat-{i}"
                    t0 = time.time()
                    s.post(url + CM, json={"metadata": {"name": name}}, timeout=10)
                    sent[name] = (t0, time.time())
                    time.sleep(0.02)
                time.sleep(1.0)
            arrived = [(name, t) for arrivals in got for name, ts in arrivals.items()
                       if name in sent for t in ts]
            upper = [(t - sent[name][0]) * 1000 for name, t in arrived]
            lower = [(t - sent[name][1]) * 1000 for name, t in arrived]
            first = {name: min(t for arrivals in got for t in arrivals.get(name, ()))
                     for name in sent}
            spread = [(t - first[name]) * 1000 for name, t in arrived]
            print(f"delivery latency, 1,000 watchers x 100 events ({len(arrived)} deliveries, "
                  f"{len(sent) * 1000} expected), from the write's acknowledgement: p50 "
                  f"{pct(lower, 50):.1f} ms, p99 {pct(lower, 99):.1f} ms; from the request's "
                  f"start: p50 {pct(upper, 50):.1f} ms, p99 {pct(upper, 99):.1f} ms "
                  f"(target p99 <= 100 ms from the commit, which lies between); from its "
                  f"first arrival at any watcher: p50 {pct(spread, 50):.1f} ms, p99 "
                  f"{pct(spread, 99):.1f} ms")

            # The lists read the fill namespace: exactly --objects, whatever the rounds wrote.
            for label, params in (("cache (resourceVersion=0)", {"resourceVersion": "0"}),
                                  ("cache, consistent (no resourceVersion)", {})):
                times, n = [], 0
                for _ in range(5):
                    t0 = time.perf_counter()
                    resp = session.get(url + FILL, params=params, timeout=60)
                    times.append(time.perf_counter() - t0)
                    n = len(resp.json()["items"])
                print(f"list of {n:,} ConfigMaps ({len(resp.content) / 2**20:.1f} MiB) from the "
                      f"{label}: median {statistics.median(times):.3f} s (target <= 0.3 s)")
            for label, first_q in (("resourceVersion=0", {"resourceVersion": "0"}),
                                   ("consistent", {})):
                pages, token_c = [], None
                while True:
                    q = {"limit": "500", **({"continue": token_c} if token_c else first_q)}
                    t0 = time.perf_counter()
                    body = session.get(url + FILL, params=q, timeout=30).json()
                    pages.append((time.perf_counter() - t0) * 1000)
                    token_c = body["metadata"].get("continue")
                    if not token_c or len(pages) >= 20:
                        break
                print(f"pages of 500 (first {label}, then continued): median "
                      f"{statistics.median(pages):.1f} ms, max {max(pages):.1f} ms "
                      f"over {len(pages)} pages (target <= 10 ms)")
        finally:
            mc.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
