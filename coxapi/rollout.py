"""Deployment revisions, pure: which ReplicaSet holds which revision and which
pod template a rollback restores. Shared by ``cox rollout`` (cli) and the
dashboard's actions (master.ui)."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


class NoRevision(LookupError):
    """No revision to roll back to; ``asked`` when a named revision is missing."""

    def __init__(self, message: str, asked: bool) -> None:
        super().__init__(message)
        self.asked = asked


def revision_of(obj: Obj) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, 0))
    except (TypeError, ValueError):
        return 0


def owned_replicasets(dep: Obj, rss: list[Obj]) -> list[Obj]:
    """The ReplicaSets the Deployment controls, oldest revision first."""
    uid = dep.get("metadata", {}).get("uid")
    name = dep.get("metadata", {}).get("name")
    out = []
    for rs in rss:
        for ref in rs.get("metadata", {}).get("ownerReferences") or []:
            if ref.get("controller") and ref.get("kind") == "Deployment" and (
                    ref.get("uid") == uid if uid and ref.get("uid") else ref.get("name") == name):
                out.append(rs)
                break
    return sorted(out, key=revision_of)


def template_without_hash(template: Obj) -> Obj:
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(HASH_LABEL, None)
    return t


def current_revision(dep: Obj, owned: list[Obj]) -> int:
    rev = revision_of(dep)
    if rev:
        return rev
    want = template_without_hash((dep.get("spec") or {}).get("template") or {})
    for rs in owned:
        if template_without_hash((rs.get("spec") or {}).get("template") or {}) == want:
            return revision_of(rs)
    return max((revision_of(rs) for rs in owned), default=0)


def rollback_target(dep: Obj, owned: list[Obj], to_revision: int = 0) -> Obj:
    """The ReplicaSet to roll back to: ``to_revision``, else the one before the current."""
    name = dep.get("metadata", {}).get("name", "")
    if to_revision:
        for rs in owned:
            if revision_of(rs) == to_revision:
                return rs
        raise NoRevision(f'unable to find specified revision {to_revision} in history '
                         f'of deployment "{name}"', asked=True)
    current = current_revision(dep, owned)
    older = [rs for rs in owned if 0 < revision_of(rs) < current]
    if not older:
        raise NoRevision(f'no rollout history found for deployment "{name}" '
                         f"(no revision before {current})", asked=False)
    return older[-1]


def rolled_back(dep: Obj, target: Obj) -> Obj | None:
    """``dep`` (changed in place) with ``target``'s pod template and change
    cause, or None when its template already is that one."""
    template = template_without_hash(target.get("spec", {}).get("template") or {})
    if template == template_without_hash(dep.get("spec", {}).get("template") or {}):
        return None
    dep["spec"]["template"] = template
    cause = (target.get("metadata", {}).get("annotations") or {}).get(CHANGE_CAUSE)
    annotations = dep["metadata"].setdefault("annotations", {})
    if cause:
        annotations[CHANGE_CAUSE] = cause
    else:
        annotations.pop(CHANGE_CAUSE, None)
    return dep
