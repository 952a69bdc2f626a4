"""ServiceAccounts: the identity of a pod's processes (a ``default`` one in
every namespace; the node agent mounts a token for it into each pod)."""

from __future__ import annotations

from typing import Any

from coxapi.validation import rbac
from coxapi.validation.common import Errors

from .columns import AGE, Column
from .kind import Kind
from .strategy import NodeWrite, Strategy

Obj = dict[str, Any]


class ServiceAccountStrategy(Strategy):
    columns = (Column("SECRETS", lambda o, now: str(len(o.get("secrets") or []))), AGE)

    def validate(self, errs: Errors, obj: Obj) -> None:
        rbac.validate_service_account(errs, obj)

    def node_write(self, w: NodeWrite) -> str | None:
        # A node asks for the tokens of the accounts its pods run as (TokenRequest).
        if w.method == "POST" and w.subresource == "token" and w.referenced():
            return None
        return w.denied()


KIND = Kind("ServiceAccount", "serviceaccounts", "", "v1", True, ("sa",), ("token",),
            strategy=ServiceAccountStrategy())
