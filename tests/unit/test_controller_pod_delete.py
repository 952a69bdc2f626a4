"""A controller deletes a pod starting from its own (informer's) copy: a
compare-and-swap at that version, with no Raft read; a stale copy's retry
reads the latest (Kubernetes' delete starts from the watch cache's copy)."""

from __future__ import annotations

import time

from master.controllers.pods import delete_pod
from master.controllers.testing import make_context, pod


def spied(ctx) -> list[bool]:
    reads: list[bool] = []
    real = ctx.objects.store.get

    def spy(key, linearizable=True):
        reads.append(linearizable)
        return real(key, linearizable=linearizable)
    ctx.objects.store.get = spy
    return reads


def test_a_current_copy_is_marked_without_a_raft_read():
    ctx, _ = make_context()
    p = ctx.objects.create({**pod("a"), "spec": {**pod("a")["spec"], "nodeName": "n1"}})
    reads = spied(ctx)
    delete_pod(ctx.objects, p, time.time())
    assert reads == []
    assert ctx.objects.get("Pod", "default", "a")["metadata"]["deletionTimestamp"]


def test_a_stale_copy_is_retried_from_the_latest():
    ctx, _ = make_context()
    p = ctx.objects.create({**pod("a"), "spec": {**pod("a")["spec"], "nodeName": "n1"}})
    ctx.objects.guaranteed_update("Pod", "default", "a", lambda o: {
        **o, "metadata": {**o["metadata"], "labels": {"x": "y"}}})
    reads = spied(ctx)
    delete_pod(ctx.objects, p, time.time())  # p: before the label
    assert reads == [True]
    got = ctx.objects.get("Pod", "default", "a", linearizable=False)
    assert got["metadata"]["deletionTimestamp"] and got["metadata"]["labels"] == {"x": "y"}
