"""``python -m netproxy``: run the service proxy on its own.

The node agent normally runs netproxy in-process (``run_proxy``); this entry
point is for running it separately, removing its table (``--cleanup``), or
printing the table it would write (``--dry-run``).

    python -m netproxy --master https://10.250.0.1:6443 --ca-file pki/ca.crt \\
        --token-file n1.token --node-address 10.250.0.11 [--netns cox-n1] [--dry-run | --cleanup]
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .plan import TABLE, build_plan
from .render import render


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m netproxy",
        description="Run the coxswain service proxy (Services + Endpoints -> nftables).")
    p.add_argument("--master", action="append", default=[], metavar="URL",
                   help="API server address (repeat for every master)")
    p.add_argument("--token-file", help="file holding this node's bearer token")
    p.add_argument("--ca-file", help="the cluster CA (PEM) the masters' certificates chain to")
    p.add_argument("--node-address", action="append", default=[], metavar="IP",
                   help="an address NodePorts answer on (repeatable)")
    p.add_argument("--netns", help="network namespace to program (default: the current one)")
    p.add_argument("--table", default=TABLE, help=f"nftables table name (default {TABLE})")
    p.add_argument("--dry-run", action="store_true", help="print the table and exit")
    p.add_argument("--cleanup", action="store_true", help="remove the table and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return _main(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001 - one line, no traceback, for the operator
        print(f"netproxy: error: {e}", file=sys.stderr)
        return 1


def _main(args: argparse.Namespace) -> int:
    from .proxy import ProxyConfig, run_proxy
    from .table import NftTable

    if args.cleanup:
        table = NftTable(args.table, netns=args.netns)
        table.delete()
        table.close()
        print(f"removed table ip {args.table}")
        return 0
    if not args.master:
        print("netproxy: error: --master is required (give every master)", file=sys.stderr)
        return 2
    from coxapi.client import DISCOVER_INTERVAL, Client

    token = None
    if args.token_file:
        try:
            with open(args.token_file) as f:
                token = f.read().strip()
        except OSError as e:
            print(f"netproxy: error: cannot read --token-file: {e.strerror}", file=sys.stderr)
            return 2
    client = Client(args.master, token=token, user_agent="coxswain-netproxy",
                    ca_file=args.ca_file, discover_interval=DISCOVER_INTERVAL)
    if args.dry_run:
        plan = build_plan(client.list("services").get("items") or [],
                          client.list("endpoints").get("items") or [], args.node_address,
                          table=args.table)
        print(render(plan))
        for note in plan.notes:
            print(f"# not proxied: {note}")
        return 0
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_proxy(client, args.node_address, stop, netns=args.netns, config=ProxyConfig(table=args.table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
