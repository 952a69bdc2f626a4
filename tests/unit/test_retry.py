"""retry_on_conflict: client-go's RetryOnConflict(DefaultRetry, fn)."""

from __future__ import annotations

import pytest

from coxapi import errors
from coxapi.retry import DEFAULT_RETRY, Backoff, retry_on_conflict, starting_with
from master.objects import ObjectStore
from raftstore import MemoryStore


class Flaky:
    """Raises the given errors in turn, then returns how many calls it took."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.calls


def test_default_retry_is_client_gos():
    assert Backoff(steps=5, duration=0.010, factor=1.0, jitter=0.1) == DEFAULT_RETRY


def test_a_conflict_runs_the_function_again_until_it_succeeds():
    fn, slept = Flaky(errors.Conflict("1"), errors.Conflict("2")), []
    assert retry_on_conflict(fn, sleep=slept.append) == 3
    assert fn.calls == 3 and len(slept) == 2


def test_each_attempt_starts_from_a_fresh_read():
    store = {"v": 0}
    reads = []

    def increment() -> int:
        seen = store["v"]
        reads.append(seen)
        if len(reads) < 3:
            store["v"] += 10  # someone else wrote between our read and our write
            raise errors.Conflict("stale")
        store["v"] = seen + 1
        return store["v"]

    assert retry_on_conflict(increment, sleep=lambda _: None) == 21
    assert reads == [0, 10, 20]


def test_gives_up_after_the_steps_and_raises_the_last_conflict():
    conflicts = [errors.Conflict(str(i)) for i in range(5)]
    fn, slept = Flaky(*conflicts, errors.Conflict("never reached")), []
    with pytest.raises(errors.Conflict) as err:
        retry_on_conflict(fn, sleep=slept.append)
    assert err.value is conflicts[-1]
    assert fn.calls == 5 and len(slept) == 4  # no pause after the last call


def test_other_errors_pass_straight_through():
    for error in (errors.NotFound("gone"), errors.Invalid("bad"), RuntimeError("bug")):
        fn = Flaky(error)
        with pytest.raises(type(error)) as err:
            retry_on_conflict(fn, sleep=lambda _: pytest.fail("must not pause"))
        assert err.value is error and fn.calls == 1


def test_a_non_conflict_after_conflicts_stops_the_retries():
    fn = Flaky(errors.Conflict("1"), errors.NotFound("deleted meanwhile"))
    with pytest.raises(errors.NotFound):
        retry_on_conflict(fn, sleep=lambda _: None)
    assert fn.calls == 2


def test_pauses_follow_the_backoff_with_jitter():
    slept: list[float] = []
    backoff = Backoff(steps=4, duration=1.0, factor=2.0, jitter=0.5)
    with pytest.raises(errors.Conflict):
        retry_on_conflict(Flaky(*[errors.Conflict("c")] * 4), backoff,
                          sleep=slept.append, rand=lambda: 1.0)
    assert slept == [1.5, 3.0, 6.0]


def test_default_pauses_are_ten_milliseconds_plus_up_to_ten_percent():
    slept: list[float] = []
    with pytest.raises(errors.Conflict):
        retry_on_conflict(Flaky(*[errors.Conflict("c")] * 5), sleep=slept.append)
    assert len(slept) == 4 and all(0.010 <= s <= 0.011 for s in slept)


def test_starting_with_hands_back_the_object_in_hand_then_reads():
    reads = iter(["fresh-1", "fresh-2"])
    current = starting_with("cached", lambda: next(reads))
    assert [current(), current(), current()] == ["cached", "fresh-1", "fresh-2"]


def test_guaranteed_update_runs_the_mutation_again_on_the_object_another_writer_left():
    objects = ObjectStore(MemoryStore())
    objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c", "namespace": "default"}, "data": {"n": "0"}})
    seen = []

    def increment(cm: dict) -> dict:
        seen.append(cm["data"]["n"])
        if len(seen) == 1:  # another writer gets in between our read and our write
            objects.guaranteed_update("ConfigMap", "default", "c",
                                      lambda o: {**o, "data": {"n": "10"}})
        return {**cm, "data": {"n": str(int(cm["data"]["n"]) + 1)}}

    assert objects.guaranteed_update("ConfigMap", "default", "c", increment)["data"] == {"n": "11"}
    assert seen == ["0", "10"]


class _LaggingStore(MemoryStore):
    """Counts linearizable reads; ``lagging`` holds the older values this replica
    still shows to its own (non-linearizable) reads, as a follower behind the log."""

    def __init__(self) -> None:
        super().__init__()
        self.barriers = 0
        self.lagging: dict = {}

    def get(self, key: str, linearizable: bool = True):  # noqa: ANN201 - the store's signature
        if linearizable:
            self.barriers += 1
        elif key in self.lagging:
            return self.lagging[key]
        return super().get(key, linearizable)


def test_guaranteed_update_starts_from_this_replica_and_never_loses_a_write_to_a_stale_copy():
    store = _LaggingStore()
    objects = ObjectStore(store)
    key = "/registry/configmaps/default/c"
    objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "c", "namespace": "default"}, "data": {"n": "0"}})

    def set_n(value: str):
        return lambda cm: {**cm, "data": {"n": value}}
    objects.guaranteed_update("ConfigMap", "default", "c", set_n("1"))
    assert store.barriers == 0, "a current replica: no Raft read"
    # A stale copy: its compare-and-swap fails, the write is made on the latest.
    store.lagging[key] = store.get(key, False)
    objects.guaranteed_update("ConfigMap", "default", "c", set_n("2"))
    assert objects.get("ConfigMap", "default", "c")["data"] == {"n": "2"}
    # "Nothing to change" on a stale copy that already shows the wanted value.
    store.lagging[key] = store.get(key, False)  # shows n=2
    objects.guaranteed_update("ConfigMap", "default", "c", set_n("3"))
    store.barriers = 0
    cur = objects.guaranteed_update("ConfigMap", "default", "c", set_n("2"))
    assert cur["data"] == {"n": "2"} and store.barriers == 1, "confirmed on the latest"
    assert objects.get("ConfigMap", "default", "c", linearizable=True)["data"] == {"n": "2"}
    # Not on this replica yet: the latest is asked before NotFound is believed.
    objects.create({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "new", "namespace": "default"}, "data": {}})
    store.lagging["/registry/configmaps/default/new"] = None
    objects.guaranteed_update("ConfigMap", "default", "new", set_n("1"))
    assert objects.get("ConfigMap", "default", "new")["data"] == {"n": "1"}
    with pytest.raises(errors.NotFound):
        objects.guaranteed_update("ConfigMap", "default", "ghost", set_n("1"))
