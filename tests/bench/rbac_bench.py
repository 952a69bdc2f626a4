"""CPU of one RBAC decision for a user outside system:masters: the rules
cached per user and namespace (master/api/rbaccache.py) against computing
them from every ClusterRoleBinding and the namespace's RoleBindings, as each
request did before.

    python -m tests.bench.rbac_bench [--namespaces 50] [--n 2000]

The store holds the default roles and bindings, plus a RoleBinding for the
user in each of ``--namespaces`` namespaces and one ClusterRoleBinding per
namespace for others (a cluster with some tenants).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from coxapi import rbac
from coxapi.rbac import Attributes
from master.admission.rbacdefaults import ensure_default_rbac
from master.api.rbacauthz import RbacAuthorizer
from master.auth import User
from master.objects import ObjectStore
from raftstore.memory import MemoryStore
from tests.bench import reproduce

ALICE = User("alice", "u-alice", ("team-a",))


def binding(name: str, role: str, subject: str, namespace: str | None) -> dict:
    meta = {"name": name} | ({"namespace": namespace} if namespace else {})
    return {"apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding" if namespace else "ClusterRoleBinding", "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"kind": "User", "name": subject}]}


def fill(objects: ObjectStore, namespaces: int) -> None:
    ensure_default_rbac(objects)
    for i in range(namespaces):
        objects.create(binding("alice-edit", "edit", "alice", f"ns{i}"))
        objects.create(binding(f"user{i}-view", "view", f"user{i}", None))


def per_decision_us(decide: Callable[[User, Attributes], bool], n: int, repeats: int = 5) -> float:
    a = Attributes(verb="list", resource="pods", api_group="", namespace="ns0")
    runs = []
    for _ in range(repeats):
        t0 = time.process_time()
        for _ in range(n):
            decide(ALICE, a)
        runs.append((time.process_time() - t0) / n * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--namespaces", type=int, default=50)
    p.add_argument("--n", type=int, default=2000)
    args = p.parse_args(argv)
    store = MemoryStore()
    objects = ObjectStore(store)
    fill(objects, args.namespaces)
    authz = RbacAuthorizer(objects)

    def uncached(user: User, a: Attributes) -> bool:
        return any(rbac.rule_allows(r, a) for r in authz._rules(user, a.namespace))

    before = per_decision_us(uncached, max(1, args.n // 10))
    after = per_decision_us(authz.allowed, args.n)
    crbs = len(objects.list("clusterrolebindings").items)
    print(f"RBAC decision for a user outside system:masters ({crbs} ClusterRoleBindings, "
          f"{args.namespaces} namespaces): computed {before:.0f} us, cached {after:.1f} us "
          f"(x{before / after:.0f} less CPU)")
    cmd = reproduce("tests.bench.rbac_bench", argv)
    print(f"reproduce: {cmd}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
