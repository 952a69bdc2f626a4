"""The dashboard's actions, each done through the API as the signed-in user
(internal.Caller), so RBAC, admission and validation apply as for any client.
Each returns what the Event recording it says; a refusal is the API's own
Status (errors.ApiError). The decisions shared with ``cox`` live in
coxapi.rollout and coxapi.drain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import yaml

from coxapi import drain, errors, kinds
from coxapi import rollout as revisions
from coxapi.retry import DEFAULT_RETRY

from .internal import Caller

Obj = dict[str, Any]
FIELD_MANAGER = "coxswain-dashboard"
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"

# action -> the resources it works on
RESOURCES: dict[str, tuple[str, ...]] = {
    "scale": ("deployments", "replicasets", "statefulsets"),
    "restart": ("deployments", "daemonsets", "statefulsets"),
    "undo": ("deployments",), "pause": ("deployments",), "resume": ("deployments",),
    "delete": ("pods",),
    "cordon": ("nodes",), "uncordon": ("nodes",), "drain": ("nodes",),
}
# action -> (method, subresource) of the request it needs, for the page's "may I?" check
NEEDS: dict[str, tuple[str, str | None]] = {
    "scale": ("PATCH", "scale"), "restart": ("PATCH", None), "undo": ("PUT", None),
    "pause": ("PATCH", None), "resume": ("PATCH", None), "delete": ("DELETE", None),
    "cordon": ("PATCH", None), "uncordon": ("PATCH", None), "drain": ("POST", "eviction"),
}
REASONS = {"scale": "UIScale", "restart": "UIRolloutRestart", "undo": "UIRolloutUndo",
           "pause": "UIRolloutPause", "resume": "UIRolloutResume", "delete": "UIDeletePod",
           "cordon": "UICordon", "uncordon": "UIUncordon", "drain": "UIDrain",
           "apply": "UIApply"}


@dataclass(frozen=True)
class Done:
    """What an action did, for its Event."""
    involved: Obj  # the Event's involvedObject
    message: str


@dataclass(frozen=True)
class Target:
    kind: kinds.Kind
    namespace: str | None
    name: str

    def path(self, sub: str | None = None) -> str:
        ns = f"/namespaces/{self.namespace}" if self.kind.namespaced else ""
        return (f"{self.kind.group_version_prefix}{ns}/{self.kind.plural}/{self.name}"
                + (f"/{sub}" if sub else ""))

    def ref(self, obj: Obj | None = None) -> Obj:
        ref = {"apiVersion": self.kind.api_version, "kind": self.kind.kind, "name": self.name}
        if self.namespace:
            ref["namespace"] = self.namespace
        uid = ((obj or {}).get("metadata") or {}).get("uid")
        if uid:
            ref["uid"] = uid
        return ref


def _text(params: Obj, field: str) -> str:
    v = params.get(field)
    if not isinstance(v, str) or not v:
        raise errors.Invalid.fields("action", "", [(field, "must be a non-empty string")])
    return v


def target_of(action: str, params: Obj) -> Target:
    """The object ``params`` names, checked against what ``action`` works on."""
    if action not in RESOURCES:
        raise errors.NotFound(f'no dashboard action "{action}"')
    resource = params.get("resource") or RESOURCES[action][0]
    if resource not in RESOURCES[action]:
        raise errors.Invalid.fields("action", "", [
            ("resource", f"{action} works on {', '.join(RESOURCES[action])}")])
    kind = kinds.lookup(resource)
    namespace = _text(params, "namespace") if kind.namespaced else None
    return Target(kind, namespace, _text(params, "name"))


async def _ok(call: Callable[[], Awaitable[tuple[int, Any]]]) -> Any:
    code, body = await call()
    if code >= 400:
        raise errors.ApiError.from_status(body if isinstance(body, dict) else {}, code)
    return body


async def run(action: str, params: Obj, api: Caller, user: str, now: str) -> Done:
    t = target_of(action, params)
    what = f"{t.kind.kind.lower()} {t.name}"
    if action == "scale":
        replicas = params.get("replicas")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise errors.Invalid.fields("Scale", t.name, [
                ("spec.replicas", "must be a whole number, 0 or more")])
        obj = await _ok(lambda: api("PATCH", t.path("scale"), {"spec": {"replicas": replicas}},
                                    content_type=MERGE))
        return Done(t.ref(obj), f"{user} scaled {what} to {replicas} replicas")
    if action == "restart":
        patch = {"spec": {"template": {"metadata": {"annotations": {
            revisions.RESTARTED_AT: now}}}}}
        obj = await _ok(lambda: api("PATCH", t.path(), patch, content_type=MERGE))
        return Done(t.ref(obj), f"{user} restarted the rollout of {what}")
    if action in ("pause", "resume"):
        paused = True if action == "pause" else None
        obj = await _ok(lambda: api("PATCH", t.path(), {"spec": {"paused": paused}},
                                    content_type=MERGE))
        return Done(t.ref(obj), f"{user} {action}d the rollout of {what}")
    if action == "undo":
        return await _undo(t, params, api, user)
    if action == "delete":
        obj = await _ok(lambda: api("DELETE", t.path()))
        return Done(t.ref(obj), f"{user} deleted {what}")
    if action in ("cordon", "uncordon"):
        value = True if action == "cordon" else None
        obj = await _ok(lambda: api("PATCH", t.path(), {"spec": {"unschedulable": value}},
                                    content_type=MERGE))
        return Done(t.ref(obj), f"{user} {action}ed {what}")
    return await _drain(t, api, user)


async def _undo(t: Target, params: Obj, api: Caller, user: str) -> Done:
    to = params.get("toRevision") or 0
    if isinstance(to, bool) or not isinstance(to, int) or to < 0:
        raise errors.Invalid.fields("action", t.name, [("toRevision", "must be a revision")])
    rs_path = f"/apis/apps/v1/namespaces/{t.namespace}/replicasets"
    for _ in range(DEFAULT_RETRY.steps):  # the update carries the live resourceVersion
        dep = await _ok(lambda: api("GET", t.path()))
        owned = revisions.owned_replicasets(dep, (await _ok(lambda: api("GET", rs_path)))["items"])
        try:
            target = revisions.rollback_target(dep, owned, to)
        except revisions.NoRevision as e:
            raise (errors.NotFound if e.asked else errors.BadRequest)(str(e)) from None
        rev = revisions.revision_of(target)
        new = revisions.rolled_back(dep, target)
        if new is None:
            raise errors.BadRequest(f"skipped rollback: the template already is revision {rev}")
        code, body = await api("PUT", t.path(), new)
        if code == 409:
            continue
        if code >= 400:
            raise errors.ApiError.from_status(body or {}, code)
        return Done(t.ref(body), f"{user} rolled deployment {t.name} back to revision {rev}")
    raise errors.Conflict(f"deployment {t.name} kept changing: try again")


async def _drain(t: Target, api: Caller, user: str) -> Done:
    """Cordon, then evict (the eviction API: PodDisruptionBudgets apply) every
    pod but DaemonSets'; pods no controller manages are refused, as ``cox
    drain`` without ``--force`` does. Does not wait for them to end."""
    node = await _ok(lambda: api("PATCH", t.path(), {"spec": {"unschedulable": True}},
                                 content_type=MERGE))
    pods = (await _ok(lambda: api("GET", "/api/v1/pods",
                                  query={"fieldSelector": f"spec.nodeName={t.name}"})))["items"]
    pods = [p for p in pods if (p.get("spec") or {}).get("nodeName") == t.name]
    plan = drain.plan_drain(pods, force=False, ignore_daemonsets=True, delete_emptydir_data=True)
    if plan.errors:
        raise errors.BadRequest(f'node "{t.name}" is cordoned but cannot be drained: '
                                + "; ".join(plan.errors))
    evicted = []
    for pod in plan.delete:
        meta = pod["metadata"]
        path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction"
        code, body = await api("POST", path, {
            "apiVersion": "policy/v1", "kind": "Eviction",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"]}})
        if code >= 400 and code != 404:
            raise errors.ApiError.from_status(body or {}, code)
        evicted.append(drain.pod_ref(pod))
    return Done(t.ref(node), f"{user} drained node {t.name}: evicted "
                + (", ".join(evicted) if evicted else "no pods"))


# ---- apply ----

@dataclass(frozen=True)
class Applied:
    results: list[Obj]  # one per document: kind, namespace, name, code, and status on failure
    done: list[Done]  # for the Events (nothing on a dry run)


def parse_manifest(text: Any) -> list[Obj]:
    if not isinstance(text, str) or not text.strip():
        raise errors.Invalid.fields("manifest", "", [("manifest", "paste a YAML manifest")])
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        raise errors.Invalid.fields("manifest", "", [("manifest", f"not YAML: {e}")]) from None
    if not docs:
        raise errors.Invalid.fields("manifest", "", [("manifest", "holds no object")])
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            raise errors.Invalid.fields("manifest", "", [(f"[{i}]", "must be an object")])
    return docs


def _apply_target(doc: Obj) -> Target:
    try:
        kind = kinds.for_object(doc)
    except kinds.UnknownKind as e:
        raise errors.Invalid.fields(str(doc.get("kind", "")), "", [("kind", str(e))]) from None
    if kind.kind == "Secret":  # the dashboard never handles Secret values
        raise errors.Forbidden("the dashboard does not apply Secrets: use cox or kubectl",
                               {"kind": "secrets"})
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise errors.Invalid.fields(kind.kind, "", [("metadata.name", "Required value")])
    namespace = (meta.get("namespace") or "default") if kind.namespaced else None
    return Target(kind, namespace, name)


async def apply(text: Any, dry_run: bool, api: Caller, user: str) -> Applied:
    """Server-side apply of every document (dryRun=All for the preview); a
    document's refusal is its result, the others still go."""
    results, done = [], []
    for doc in parse_manifest(text):
        meta = doc.get("metadata")
        summary: Obj = {"kind": doc.get("kind"),
                        "name": meta.get("name") if isinstance(meta, dict) else None}
        try:
            t = _apply_target(doc)
            summary.update(namespace=t.namespace)
            query = {"fieldManager": FIELD_MANAGER, "force": "true"}
            if dry_run:
                query["dryRun"] = "All"
            code, body = await api("PATCH", t.path(), doc, query=query, content_type=APPLY)
            if code >= 400:
                raise errors.ApiError.from_status(body or {}, code)
        except errors.ApiError as e:
            results.append({**summary, "code": e.code, "status": e.to_status()})
            continue
        results.append({**summary, "code": code,
                        "action": "created" if code == 201 else "configured"})
        if not dry_run:
            done.append(Done(t.ref(body), f"{user} applied {t.kind.kind.lower()} {t.name} "
                             f"({'created' if code == 201 else 'configured'})"))
    return Applied(results, done)
