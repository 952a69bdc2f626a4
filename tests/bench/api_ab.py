"""Two builds of coxswain side by side: creates through the API as api_bench
makes them, on two 3-master clusters running at once, one from this tree
("new") and one from a git revision ("base"), interleaved request by request
and their W writers in turns. This machine's load moves both alike, so the
per-round ratio new/base says whether a change cut a create's cost, which two
api_bench runs minutes apart (each against etcd) cannot tell within ±20 %.

    python -m tests.bench.api_ab --base REV [--new DIR|REV] [--rounds 7] [--n 300]
                                 [--writers 16] [--procs 4] [--seconds 3]
                                 [--resource configmaps|events|services/status|serviceaccounts/token|
                                            configmaps/delete]

Ratios below 1: the new build is faster (latency, CPU per write) or slower
(throughput: above 1 is faster). Each is the median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.bench.api_bench import RESOURCES, Endpoint, Target, interleaved, median_of, sequential
from tests.masters import MasterCluster
from tests.support import wait_until

TREE = Path(__file__).resolve().parents[2]


def checkout(rev: str, into: Path) -> Path:
    """The files of ``rev`` (this repository's), as ``git archive`` gives them."""
    tar = subprocess.run(["git", "-C", str(TREE), "archive", "--format=tar", rev],
                         check=True, capture_output=True, timeout=120).stdout
    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        t.extractall(into, filter="data")
    return into


@contextmanager
def cluster(code: Path, tmp: Path, resource: str) -> Iterator[Endpoint]:
    """3 masters running the code in ``code`` (their PYTHONPATH; the bench
    runs from a directory without code, so ``python -m`` finds no other)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(code)
    try:
        mc = MasterCluster.create(tmp)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    try:
        t = Target("coxswain", mc.token, mc.ca_file, resource)
        leader = wait_until(mc.leader, 30, what="a leader")
        follower = next(m for m in mc.masters if m is not leader)
        s = t.session()
        wait_until(lambda: s.get(f"{leader.url}/api/v1/namespaces/default", timeout=2).ok, 30,
                   what="the default namespace")
        wait_until(lambda: s.get(f"{leader.url}/api/v1/namespaces/default/serviceaccounts/"
                                 "default", timeout=2).ok, 30, what="the default account")
        s.close()
        pids = [leader.proc.pid] + [m.proc.pid for m in mc.masters  # type: ignore[union-attr]
                                    if m is not leader]
        yield Endpoint(t, leader.url, follower.url, pids)
    finally:
        mc.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="git revision of the base build")
    p.add_argument("--new", default=str(TREE),
                   help="source tree (or git revision) of the new build; this tree by default")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--n", type=int, default=300, help="sequential writes per latency run")
    p.add_argument("--writers", type=int, default=16)
    p.add_argument("--procs", type=int, default=4, help="client processes for the writers")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--resource", choices=RESOURCES, default="configmaps",
                   help="what the writers create (or update: services/status)")
    args = p.parse_args(argv)
    cmd = "python -m tests.bench.api_ab " + " ".join(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory(prefix="api-ab-") as d, ExitStack() as stack:
        tmp = Path(d)
        os.chdir(tmp)
        base = checkout(args.base, tmp / "base-code")
        new = Path(args.new).resolve() if Path(args.new).is_dir() \
            else checkout(args.new, tmp / "new-code")
        systems = {"new": stack.enter_context(cluster(new, tmp / "new", args.resource)),
                   "base": stack.enter_context(cluster(base, tmp / "base", args.resource))}
        for name, e in systems.items():
            sequential(e.target, e.leader, 50, f"{name}warm")
        rounds = interleaved(systems, args, "e")
    print(f"\nmedians of {args.rounds} interleaved rounds; new: {args.new}, base: {args.base}")
    for key, label, field in (("leader", "1 writer, leader p50 ms", "p50_ms"),
                              ("follower", "1 writer, via a follower p50 ms", "p50_ms"),
                              ("concurrent", f"{args.writers} writers, writes/s", "per_s"),
                              ("concurrent", "leader CPU us/write, W writers",
                               "leader_cpu_us_per_write"),
                              ("concurrent", "3 masters' CPU us/write, W writers",
                               "members_cpu_us_per_write")):
        ratios = [r["new"][key][field] / r["base"][key][field] for r in rounds]
        print(f"  {label:32s} new {median_of(rounds, 'new', key, field):7.2f}  "
              f"base {median_of(rounds, 'base', key, field):7.2f}  new/base "
              f"x{statistics.median(ratios):.2f} (rounds: "
              f"{' '.join(f'{x:.2f}' for x in ratios)})")
    print(f"\nreproduce: {cmd.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
