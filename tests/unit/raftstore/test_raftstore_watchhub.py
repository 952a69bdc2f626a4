"""The watch hub files watchers by their key's first segments; each watcher
must still get exactly the events under its prefix, in order."""

from __future__ import annotations

import random

import pytest

from raftstore.mvcc import HistoryEntry, Record
from raftstore.watch import WatchHub, bucket_of

PREFIXES = ["", "/", "/registry", "/registry/", "/registry/pods", "/registry/pods/",
            "/registry/pods/default/", "/registry/pods/default/web-1",
            "/registry/configmaps/", "/other/x/", "/a/b/c/d/", "plain", "/registry/podsx/"]
KEYS = ["/registry/pods/default/web-1", "/registry/pods/default/web-10", "/registry/pods/kube/x",
        "/registry/podsx/a", "/registry/configmaps/default/c", "/registry/secrets/default/s",
        "/registry", "/other/x/y", "/a/b/c/d/e", "plain-key", "/", "/registry/"]


def entry(revision: int, key: str) -> HistoryEntry:
    return HistoryEntry(revision, 0.0, "PUT", key, Record('"v"', revision, revision, 1, 0),
                        None)


def test_bucket_is_the_key_up_to_its_third_slash() -> None:
    assert bucket_of("/registry/pods/default/web") == "/registry/pods/"
    assert bucket_of("/registry/pods/") == "/registry/pods/"
    assert bucket_of("/registry/pods") is None
    assert bucket_of("") is None


@pytest.mark.parametrize("seed", range(20))
def test_every_watcher_gets_exactly_its_prefixes_events_in_order(seed: int) -> None:
    rnd = random.Random(seed)
    hub = WatchHub()
    watches = [hub.register(p, ()) for p in PREFIXES]
    closed = set(rnd.sample(range(len(watches)), 3))
    for i in closed:  # a watcher that left is no longer offered anything
        watches[i].close()
    published: list[HistoryEntry] = []
    revision = 0
    for _ in range(30):
        batch = []
        for _ in range(rnd.choice([1, 1, 2, 5])):
            revision += 1
            batch.append(entry(revision, rnd.choice(KEYS)))
        hub.publish(batch)
        published.extend(batch)
    for i, (prefix, w) in enumerate(zip(PREFIXES, watches, strict=True)):
        got = [h.revision for h in w._queue]
        want = [] if i in closed else [h.revision for h in published if h.key.startswith(prefix)]
        assert got == want, prefix
    assert len(hub) == len(PREFIXES) - len(closed)
