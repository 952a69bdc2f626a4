"""CPU per Raft peer message: pysyncobj's frame (pickle, zlib level 3,
Fernet) against raftstore's (pickle, AES-GCM per connection, zlib only above
16 KiB; raftstore/peercipher.py), sender and receiver together.

    python -m tests.bench.raft_frames_bench [--n 5000]

Messages as a create makes them: the leader's append_entries carrying one
group-commit entry (one ConfigMap, ~600 bytes; 16 of them), the follower's
next_node_idx answer, a heartbeat; and a 64 KiB snapshot chunk.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import zlib
from collections.abc import Callable

from raftstore.peercipher import FrameCipher, master_key
from raftstore.pysyncobj_import import pysyncobj_pickle as pickle
from tests.bench import reproduce
from tests.bench.api_bench import configmap

try:
    from pysyncobj.encryptor import getEncryptor
except ImportError:  # pragma: no cover - pysyncobj is pinned with cryptography
    sys.exit("needs pysyncobj's encryptor (cryptography)")


def append(creates: int) -> dict:
    cmds = [{"op": "put", "key": f"/registry/configmaps/default/c{i}",
             "value": configmap(f"c{i}"), "rid": os.urandom(8).hex()} for i in range(creates)]
    entry = (pickle.dumps({"op": "batch", "cmds": cmds}), 1001, 3)
    return {"type": "append_entries", "term": 3, "commit_index": 1000, "entries": [entry],
            "prevLogIdx": 1000, "prevLogTerm": 3}


MESSAGES = {
    "append_entries, 1 create": append(1),
    "append_entries, 16 creates": append(16),
    "next_node_idx answer": {"type": "next_node_idx", "next_node_idx": 1002, "term": 3,
                             "success": True},
    "heartbeat": {"type": "append_entries", "term": 3, "commit_index": 1001, "entries": [],
                  "prevLogIdx": 1001, "prevLogTerm": 3},
    "snapshot chunk, 64 KiB": {"type": "append_entries", "term": 3, "serialized":
                               (os.urandom(32 * 1024).hex().encode(), 1, 0)},
}


def fernet_round_trip(secret: str) -> Callable[[object], object]:
    """pysyncobj 0.3.17's TcpConnection.send and __processParseMessage."""
    f = getEncryptor(secret)
    key = os.urandom(32)

    def trip(message: object) -> object:
        data = f.encrypt_at_time(zlib.compress(pickle.dumps((key, message)), 3), int(time.monotonic()))
        f.extract_timestamp(data)
        got_key, got = pickle.loads(zlib.decompress(f.decrypt(data)))
        assert got_key == key
        return got
    return trip


def gcm_round_trip(secret: str) -> Callable[[object], object]:
    a, b = os.urandom(32), os.urandom(32)
    sender, receiver = FrameCipher(master_key(secret), a, b), FrameCipher(master_key(secret), b, a)
    return lambda message: pickle.loads(receiver.open(sender.seal(pickle.dumps(message))))


def cpu_us(trip: Callable[[object], object], message: object, n: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of CPU microseconds per message (process time)."""
    runs = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n):
            trip(message)
        runs.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="messages per measurement")
    args = p.parse_args(argv)
    old, new = fernet_round_trip("s3cret"), gcm_round_trip("s3cret")
    print("CPU per message, sender + receiver (median of 5 runs)")
    for name, message in MESSAGES.items():
        n = max(50, args.n // 20) if "snapshot" in name else args.n
        a, b = cpu_us(old, message, n), cpu_us(new, message, n)
        print(f"  {name:28s} {len(pickle.dumps(message)):6d} B pickled   "
              f"Fernet+zlib {a:7.1f} us   AES-GCM {b:7.1f} us   x{a / b:.1f} less")
    cmd = reproduce("tests.bench.raft_frames_bench", argv)
    print(f"\nreproduce: {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
