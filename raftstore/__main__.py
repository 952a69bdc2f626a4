"""Run one store replica with its JSON-over-HTTP API:

    python -m raftstore --id r1 --self 127.0.0.1:7001 --peer 127.0.0.1:7002 \\
        --peer 127.0.0.1:7003 --data-dir D --secret-file F --http 127.0.0.1:8001

The cluster secret is read from a file (argv is visible to every user)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .config import StoreConfig, check_addr
from .errors import StoreError


def read_secret(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            secret = f.read().strip()
    except OSError as e:
        raise SystemExit(f"raftstore: cannot read secret file {path}: {e.strerror}") from None
    if not secret:
        raise SystemExit(f"raftstore: secret file {path} is empty")
    return secret


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m raftstore", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--id", default=None, help="a name for logs (default: --self)")
    p.add_argument("--self", dest="self_addr", required=True, help="this replica's Raft HOST:PORT")
    p.add_argument("--peer", "--peers", dest="peers", action="append", default=[],
                   help="another replica's Raft HOST:PORT (repeat; comma lists allowed)")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--secret-file", required=True, help="file holding the cluster secret")
    p.add_argument("--http", required=True, help="HOST:PORT of the JSON API")
    p.add_argument("--quota-bytes", type=int, default=StoreConfig.quota_bytes)
    p.add_argument("--history-max-events", type=int, default=StoreConfig.history_max_events)
    p.add_argument("--history-max-age", type=float, default=StoreConfig.history_max_age)
    p.add_argument("--snapshot-entries", type=int, default=StoreConfig.snapshot_entries)
    p.add_argument("--max-batch", type=int, default=StoreConfig.max_batch,
                   help="commands per Raft entry (group commit); 1 disables batching")
    p.add_argument("--max-inflight", type=int, default=StoreConfig.max_inflight,
                   help="Raft entries in flight at once (group commit)")
    p.add_argument("--no-fsync", dest="fsync", action="store_false",
                   help="do not sync the journal (for comparisons; not durable across a "
                        "power cut of a majority)")
    p.add_argument("--switch-interval", type=float, default=None,
                   help="Python's GIL switch interval in seconds (default 0.005)")
    p.add_argument("--http-engine", choices=("stdlib", "cheroot"), default="stdlib")
    p.add_argument("--log-level", default="WARNING")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format=f"%(asctime)s {args.id or args.self_addr} %(levelname)s %(name)s: %(message)s")
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    peers = [p for item in args.peers for p in item.split(",") if p]
    try:
        http_host, http_port = check_addr(args.http)
        cfg = StoreConfig(self_addr=args.self_addr, peers=peers, data_dir=args.data_dir,
                          secret=read_secret(args.secret_file), quota_bytes=args.quota_bytes,
                          history_max_events=args.history_max_events,
                          history_max_age=args.history_max_age,
                          snapshot_entries=args.snapshot_entries, max_batch=args.max_batch,
                          fsync=args.fsync,
                          max_inflight=args.max_inflight)
        from .raft import RaftStore
        from .server import serve
        store = RaftStore(cfg)
    except StoreError as e:
        print(f"raftstore: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"raftstore: cannot use data dir {args.data_dir}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        server = serve(store, http_host, http_port, args.http_engine)
    except OSError as e:
        store.close()
        print(f"raftstore: cannot listen on {args.http}: {e.strerror}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    t = threading.Thread(target=server.serve, daemon=True)
    t.start()
    logging.getLogger("raftstore").info("serving on %s, raft %s (pid %d)",
                                        args.http, args.self_addr, os.getpid())
    stop.wait()
    store.close()  # ends open watch streams, so the server can stop at once
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
