"""No copy where none is needed, and no cache another reader can change.

Every watcher of the store decodes its own events (raftstore.watch), so the
master makes API objects of them in place (master.objects.to_object): the
watch cache of a kind and a controller's informer of the same kind, in one
process, on the same events, must not share an object. A controller that
changed its informer's object in place (against the informer's rule) would
otherwise change what the API serves."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from coxapi import kinds
from coxapi.informer import Informer
from master.listwatch import StoreListWatcher
from master.objects import ObjectStore
from master.watchcache import KindCache
from raftstore import MemoryStore
from tests.support import wait_until

CM = kinds.lookup("ConfigMap")


class NoSink:
    def events(self, cache: KindCache, batch: list, revision: int) -> None:
        pass

    def reset(self, cache: KindCache) -> None:
        pass


@pytest.fixture
def objects() -> Iterator[ObjectStore]:
    store = MemoryStore()
    yield ObjectStore(store)
    store.close()


def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "a"}},
            "data": {"k": value}}


def scribble(obj: dict) -> None:
    obj["data"]["k"] = "scribbled"
    obj["metadata"]["labels"]["app"] = "scribbled"
    obj["metadata"]["resourceVersion"] = "0"


def test_an_informer_and_the_watch_cache_share_no_object(objects):
    objects.create(configmap("first", "0"))  # lists at a revision > 0: watches replay from it
    cache = KindCache(objects.store, CM, NoSink())
    cache.start()
    inf = Informer(StoreListWatcher(objects, poll=0.05), "configmaps")
    inf.start()
    try:
        assert cache.ready.wait(5) and inf.wait_for_sync(5)
        objects.create(configmap("listed", "1"))  # seen through the watches
        wait_until(lambda: inf.get_by("default", "listed") is not None, 5, what="the informer")
        wait_until(lambda: len(cache.list("default")[0]) == 2, 5, what="the cache")
        scribble(inf.get_by("default", "listed"))
        entry = next(e for e in cache.list("default")[0] if e.key.endswith("/listed"))
        assert entry.obj["data"] == {"k": "1"} and entry.obj["metadata"]["labels"] == {"app": "a"}
        assert json.loads(entry.raw) == entry.obj
        scribble(entry.obj)  # the cache's own rule is broken here only to look at the store
        assert objects.get("ConfigMap", "default", "listed")["data"] == {"k": "1"}
    finally:
        inf.stop()
        cache.stop()


def test_objects_from_a_watch_are_the_callers_own(objects):
    """Two watches of one kind (two informers, an API watch) get distinct
    objects; one changed in place leaves the other and the store alone."""
    objects.create(configmap("first", "0"))  # "0" would mean from now on
    before = str(int(objects.create(configmap("a", "1"))["metadata"]["resourceVersion"]) - 1)
    first = objects.watch("ConfigMap", "default", resource_version=before, poll=0.05)
    second = objects.watch("ConfigMap", "default", resource_version=before, poll=0.05)
    _, mine = next(e for e in first if e is not None)
    scribble(mine)
    _, theirs = next(e for e in second if e is not None)
    assert theirs["data"] == {"k": "1"} and theirs["metadata"]["labels"] == {"app": "a"}
    assert theirs["metadata"]["resourceVersion"] != "0"
    assert objects.get("ConfigMap", "default", "a")["data"] == {"k": "1"}
    first.close()
    second.close()
