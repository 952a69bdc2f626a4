"""Check-quorum: a leader cut off from both peers steps down instead of
reporting itself leader, and comes back as a follower of the new one —
catching up at once, though its log ends in entries of its old term and the
new leader has several messages' worth of entries to send."""

from __future__ import annotations

import threading

import pytest

from raftstore import RaftStore, StoreConfig
from raftstore.errors import Unavailable
from tests.integration.raftstore.cutoff import cut_off
from tests.support import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def test_a_leader_cut_off_from_both_peers_steps_down_and_rejoins_as_a_follower(tmp_path):
    addrs = [f"127.0.0.1:{free_port()}" for _ in range(3)]
    stores = [RaftStore(StoreConfig(self_addr=a, peers=[p for p in addrs if p != a],
                                    data_dir=str(tmp_path / f"s{i}"), secret="cq-secret",
                                    write_timeout=1.0))
              for i, a in enumerate(addrs)]
    try:
        old = wait_until(lambda: next((s for s in stores if s.is_leader()), None), 10,
                         what="a leader")
        old.put("/cq/before", {})
        term = old.status()["term"]
        others = [s for s in stores if s is not old]
        refused: list[Exception] = []

        def put_on_old(key: str) -> None:
            try:
                old.put(key, {})
            except Unavailable as e:  # not acknowledged (its outcome: unknown)
                refused.append(e)

        with cut_off(old):
            # entries of the old term, never committed, at the end of its log
            stale = [threading.Thread(target=put_on_old, args=(f"/cq/unknown{k}",))
                     for k in range(3)]
            for t in stale:
                t.start()
            wait_until(lambda: not old.is_leader() and old.status()["leader"] is None,
                       10, what="the cut-off leader stepping down")
            new = wait_until(lambda: next((s for s in others if s.is_leader()), None), 10,
                             what="a new leader among the other two")
            new.put("/cq/during", {})
            for n in range(300):  # ~300 KiB: several append_entries of 64 KiB
                new.put(f"/cq/backlog/{n}", {"pad": "x" * 1000})
            for t in stale:
                t.join()
            assert len(refused) == 3
            assert old.status()["term"] == term  # it stood for no election meanwhile
        wait_until(lambda: old.status()["leader"] == new.config.self_addr
                   and old.status()["applied_index"] >= new.status()["commit_index"],
                   10, what="the old leader following the new one")
        assert new.is_leader() and new.status()["term"] > term
        keys = [kv.key for kv in old.range("/cq/").kvs]
        assert keys == [kv.key for kv in new.range("/cq/").kvs]
        assert {"/cq/before", "/cq/during"} <= set(keys) and len(keys) >= 302
    finally:
        for s in stores:
            s.close()
