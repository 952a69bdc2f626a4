"""The node's cluster DNS server on loopback: queries per second and latency.

    python -m tests.bench.dns_bench [--services 1000] [--queries 20000] [--clients 4]

A zone of N Services (each with a named port) and their Endpoints; clients
(threads, one UDP socket each, a query at a time) ask A records of random
Services, with a share of SRV, AAAA, missing and outside names, as a pod's
resolver with the search path does. Prints queries/s and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import random
import socket
import statistics
import threading
import time

import dns.message

from node.dnsserver import DnsServer
from node.dnszone import build


def zone(n: int):  # noqa: ANN201 - a bench helper
    services = [{"metadata": {"name": f"svc-{i}", "namespace": f"ns-{i % 20}"},
                 "spec": {"clusterIP": f"10.96.{i // 250}.{i % 250 + 1}",
                          "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
                for i in range(n)]
    return build(services, [], ["10.250.0.1"])


def names(n: int, count: int) -> list[tuple[bytes, int]]:
    rnd = random.Random(1)
    out = []
    for qid in range(count):
        i = rnd.randrange(n)
        pick = rnd.random()
        if pick < 0.7:
            q = dns.message.make_query(f"svc-{i}.ns-{i % 20}.svc.cluster.local", "A", id=qid)
        elif pick < 0.8:
            q = dns.message.make_query(f"svc-{i}.ns-{i % 20}.svc.cluster.local", "AAAA", id=qid)
        elif pick < 0.9:
            q = dns.message.make_query(f"_http._tcp.svc-{i}.ns-{i % 20}.svc.cluster.local",
                                       "SRV", id=qid)
        elif pick < 0.95:
            q = dns.message.make_query(f"svc-{i}.nope.svc.cluster.local", "A", id=qid)
        else:
            q = dns.message.make_query("example.com", "A", id=qid)
        out.append((q.to_wire(), qid))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=20000)
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()
    z = zone(args.services)
    server = DnsServer(lambda: z, "127.0.0.1", 0)
    stop = threading.Event()
    t = threading.Thread(target=server.serve, args=(stop,), daemon=True)
    t.start()
    queries = names(args.services, args.queries)
    per = len(queries) // args.clients
    latencies: list[float] = []
    lock = threading.Lock()

    def client(batch: list[tuple[bytes, int]]) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        mine = []
        for wire, _ in batch:
            t0 = time.perf_counter()
            s.sendto(wire, server.address)
            s.recvfrom(4096)
            mine.append(time.perf_counter() - t0)
        s.close()
        with lock:
            latencies.extend(mine)
    threads = [threading.Thread(target=client, args=(queries[i * per:(i + 1) * per],))
               for i in range(args.clients)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    took = time.perf_counter() - start
    stop.set()
    t.join(2)
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"dns: {args.services} services, {len(latencies)} queries from {args.clients} "
          f"clients: {len(latencies) / took:.0f} queries/s, "
          f"p50 {statistics.median(latencies) * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
