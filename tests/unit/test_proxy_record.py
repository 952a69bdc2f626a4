"""The proxies' record: the leader keeps the lowest Endpoints revision the live
proxies have applied in one Lease (coxapi/proxyrecord.py), so a terminating
pod's drain reads one small object, not every node's Lease."""

from __future__ import annotations

from coxapi import proxyrecord
from coxapi.proxyrecord import PROXY_REVISION_ANNOTATION, Applied
from coxapi.timefmt import rfc3339
from master.controllers.proxyrecord import ProxyRecordController
from master.controllers.testing import make_context


def node_lease(node: str, revision: int | None, renewed: float) -> dict:
    meta: dict = {"name": node, "namespace": "kube-node-lease"}
    if revision is not None:
        meta["annotations"] = {PROXY_REVISION_ANNOTATION: str(revision),
                               "metrics.coxswain.io/usage": "x" * 1000}
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node, "leaseDurationSeconds": 40,
                     "renewTime": rfc3339(renewed, micro=True)}}


def test_the_lowest_revision_of_the_live_proxies_counts_and_nodes_without_one_do_not():
    now = 1_800_000_000.0
    leases = [node_lease("a", 12, now - 1), node_lease("b", 9, now - 5),
              node_lease("dead", 3, now - 41), node_lease("noproxy", None, now),
              {"metadata": {"name": "bad", "annotations": {PROXY_REVISION_ANNOTATION: "x"}},
               "spec": {"renewTime": rfc3339(now)}}]
    applied = proxyrecord.gather(leases, now)
    assert applied == Applied(live=2, lowest=9)
    assert applied.reached(9) and not applied.reached(10)
    assert proxyrecord.gather([], now) == Applied(0, 0)
    assert Applied(0, 0).reached(10**9)  # no live proxy: nothing to wait for


def test_the_record_says_what_was_gathered_and_a_missing_or_bad_one_says_nothing():
    assert proxyrecord.recorded(proxyrecord.record(Applied(3, 41))) == Applied(3, 41)
    assert proxyrecord.recorded(None) is None
    assert proxyrecord.recorded({"metadata": {"annotations": {
        proxyrecord.LIVE_ANNOTATION: "two", proxyrecord.LOWEST_ANNOTATION: "4"}}}) is None
    assert proxyrecord.recorded({"metadata": {}}) is None


def settle(ctx, c) -> None:
    for _ in range(5):
        ctx.informers.relist()
        if not c.drain():
            return


def record_of(ctx) -> dict:
    return ctx.objects.get("Lease", proxyrecord.RECORD_NAMESPACE, proxyrecord.RECORD_NAME)


def test_the_leader_keeps_the_record_as_proxies_apply_and_die():
    ctx, clock = make_context()
    for name, revision in (("n1", 20), ("n2", 17), ("n3", None)):
        ctx.objects.create(node_lease(name, revision, clock()))
    c = ProxyRecordController(ctx)
    settle(ctx, c)
    assert proxyrecord.recorded(record_of(ctx)) == Applied(2, 17)

    def renew(name: str, revision: int) -> None:
        cur = ctx.objects.get("Lease", "kube-node-lease", name)
        cur["metadata"]["annotations"][PROXY_REVISION_ANNOTATION] = str(revision)
        cur["spec"]["renewTime"] = rfc3339(clock(), micro=True)
        ctx.objects.update(cur)

    renew("n2", 25)
    settle(ctx, c)
    assert proxyrecord.recorded(record_of(ctx)) == Applied(2, 20)
    version = record_of(ctx)["metadata"]["resourceVersion"]
    renew("n1", 20)  # a renewal that changes nothing the record says: no write
    settle(ctx, c)
    assert record_of(ctx)["metadata"]["resourceVersion"] == version

    clock.advance(30)
    renew("n2", 26)
    clock.advance(15)  # n1 renewed 45 s ago: its node is gone, it waits for no one
    c.periodic()
    settle(ctx, c)
    assert proxyrecord.recorded(record_of(ctx)) == Applied(1, 26)

    ctx.objects.delete("Lease", proxyrecord.RECORD_NAMESPACE, proxyrecord.RECORD_NAME)
    settle(ctx, c)
    assert proxyrecord.recorded(record_of(ctx)) == Applied(1, 26)


def test_a_record_this_cache_has_not_seen_yet_is_updated():
    ctx, clock = make_context()
    ctx.objects.create(node_lease("n1", 5, clock()))
    c = ProxyRecordController(ctx)
    ctx.informers.relist()
    ctx.objects.create(proxyrecord.record(Applied(7, 1)))  # by the leader before, unseen here
    c.reconcile("proxies")
    assert proxyrecord.recorded(record_of(ctx)) == Applied(1, 5)
