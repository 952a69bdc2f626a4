"""Which pods a drain evicts, skips or refuses, with kubectl's rules. Pure;
shared by ``cox drain`` (cli) and the dashboard (master.ui)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]


def pod_ref(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


@dataclass
class DrainPlan:
    delete: list[Obj] = field(default_factory=list)
    skip: list[Obj] = field(default_factory=list)  # DaemonSet pods with --ignore-daemonsets
    unmanaged: list[Obj] = field(default_factory=list)  # deleted only with --force
    errors: list[str] = field(default_factory=list)  # reasons the drain cannot go on
    warnings: list[str] = field(default_factory=list)


def plan_drain(pods: list[Obj], *, force: bool, ignore_daemonsets: bool,
               delete_emptydir_data: bool) -> DrainPlan:
    """kubectl's drain filters: DaemonSet pods, pods no controller would replace,
    pods with local (emptyDir) data; finished pods are always deleted."""
    plan = DrainPlan()
    daemons, unmanaged, local = [], [], []
    for pod in pods:
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        ref = next((r for r in pod.get("metadata", {}).get("ownerReferences") or []
                    if r.get("controller")), None)
        if ref is not None and ref.get("kind") == "DaemonSet" and not finished:
            daemons.append(pod)
            continue
        if ref is None and not finished:
            unmanaged.append(pod)
            if not force:
                continue
        if (not finished and not delete_emptydir_data
                and any("emptyDir" in v for v in (pod.get("spec") or {}).get("volumes") or [])):
            local.append(pod)
            continue
        plan.delete.append(pod)
    plan.unmanaged = unmanaged
    if daemons:
        if ignore_daemonsets:
            plan.skip = daemons
            plan.warnings.append("ignoring DaemonSet-managed Pods: "
                                 + ", ".join(map(pod_ref, daemons)))
        else:
            plan.errors.append("cannot delete DaemonSet-managed Pods (use --ignore-daemonsets "
                               "to ignore): " + ", ".join(map(pod_ref, daemons)))
    if unmanaged:
        if force:
            plan.warnings.append("deleting Pods that declare no controller: "
                                 + ", ".join(map(pod_ref, unmanaged)))
        else:
            plan.errors.append("cannot delete Pods that declare no controller (use --force to "
                               "override): " + ", ".join(map(pod_ref, unmanaged)))
    if local:
        plan.errors.append("cannot delete Pods with local storage (use --delete-emptydir-data "
                           "to override): " + ", ".join(map(pod_ref, local)))
    return plan
