"""Copies and JSON round trips per create, counted in each of 3 real masters.

    python -m tests.bench.copycount [--n 200]

Each master runs with a ``sitecustomize`` that wraps ``copy.deepcopy``,
``json.loads`` and ``json.dumps`` (outermost calls only) and counts them by
caller (and its caller). N ConfigMaps are created through the leader's API after a warm-up; the
counts of those N creates (once every master has settled), divided by N, are
printed per master and per call site: how much copying one create costs in
the whole cluster. Counts, not times: the same on a loaded machine.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.bench.api_bench import Target
from tests.masters import MasterCluster
from tests.support import wait_until

HOOK = '''
import copy, json, os, sys, threading, collections
_out = os.environ.get("COPYCOUNT_DIR")
if _out:
    _counts = collections.Counter()
    _local = threading.local()

    def _site(f):
        return f"{'/'.join(f.f_code.co_filename.split('/')[-2:])}:{f.f_code.co_name}"

    def _wrap(mod, name):
        inner = getattr(mod, name)

        def counted(*a, **kw):
            if getattr(_local, "depth", 0):
                return inner(*a, **kw)
            f = sys._getframe(1)
            g = f.f_back
            _counts[f"{name} {_site(f)} < {_site(g) if g else '-'}"] += 1
            _local.depth = 1
            try:
                return inner(*a, **kw)
            finally:
                _local.depth = 0
        setattr(mod, name, counted)

    _wrap(copy, "deepcopy")
    _wrap(json, "loads")
    _wrap(json, "dumps")

    def _dump():
        path = os.path.join(_out, f"{os.getpid()}.json")
        while True:
            threading.Event().wait(0.3)
            with open(path + ".tmp", "w") as fh:
                fh.write(json.JSONEncoder().encode(dict(_counts)))  # not counted
            os.replace(path + ".tmp", path)
    threading.Thread(target=_dump, daemon=True).start()
'''


def snapshot(d: Path, pids: list[int]) -> list[collections.Counter]:
    time.sleep(1.0)  # two dumps after the last write settled
    return [collections.Counter(json.loads((d / f"{p}.json").read_text())) for p in pids]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=200)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="copycount-") as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "hook").mkdir()
        (tmp / "hook" / "sitecustomize.py").write_text(HOOK)
        (tmp / "counts").mkdir()
        os.environ["COPYCOUNT_DIR"] = str(tmp / "counts")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(tmp / "hook"), *filter(None, [os.environ.get("PYTHONPATH")])])
        mc = MasterCluster.create(tmp / "cluster")
        try:
            leader = wait_until(mc.leader, 30, what="a leader")
            t = Target("coxswain", mc.token, mc.ca_file)
            s = t.session()
            wait_until(lambda: s.get(f"{leader.url}/api/v1/namespaces/default", timeout=2).ok,
                       30, what="the default namespace")
            for i in range(30):
                t.write(s, leader.url, f"warm-{i}")
            others = [m for m in mc.masters if m is not leader]
            pids = [m.proc.pid for m in [leader, *others]]  # type: ignore[union-attr]
            before = snapshot(tmp / "counts", pids)
            for i in range(args.n):
                t.write(s, leader.url, f"count-{i}")
            time.sleep(2.0)  # the followers' caches and the leader's controllers settle
            after = snapshot(tmp / "counts", pids)
            s.close()
        finally:
            mc.stop()
    total: collections.Counter = collections.Counter()
    for name, b, a in zip(["leader", "follower", "follower"], before, after, strict=True):
        diff = a - b
        total += diff
        print(f"{name}:")
        for site, c in sorted(diff.items(), key=lambda kv: -kv[1]):
            if c / args.n >= 0.05:
                print(f"  {c / args.n:6.2f}  {site}")
    for fn in ("deepcopy", "loads", "dumps"):
        print(f"per create, all masters: {fn} "
              f"{sum(c for k, c in total.items() if k.startswith(fn)) / args.n:.2f}")
    print(f"\nreproduce: python -m tests.bench.copycount {' '.join(sys.argv[1:])}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
