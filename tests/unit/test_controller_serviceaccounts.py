"""Every active namespace gets a ``default`` ServiceAccount, again if deleted."""

from __future__ import annotations

from master.controllers.serviceaccount import ServiceAccountsController
from master.controllers.testing import make_context


def settle(ctx, c) -> None:
    for _ in range(5):
        ctx.informers.relist()
        if not c.drain():
            return


def test_default_serviceaccount_per_namespace():
    ctx, _ = make_context()
    for ns in ("default", "team"):
        ctx.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    c = ServiceAccountsController(ctx)
    settle(ctx, c)
    for ns in ("default", "team"):
        assert ctx.objects.get("ServiceAccount", ns, "default")["metadata"]["namespace"] == ns
    ctx.objects.delete("ServiceAccount", "team", "default")
    settle(ctx, c)
    assert ctx.objects.get("ServiceAccount", "team", "default")
