"""Deployment controller: ReplicaSets per pod template, rolled forward with
the RollingUpdate or Recreate strategy (Kubernetes' deployment controller).

- The new ReplicaSet is the owned one whose template equals the
  deployment's (ignoring ``pod-template-hash``); otherwise one is created,
  named ``<deployment>-<hash>``, the hash label added to its selector,
  template labels and own labels.
- RollingUpdate: the new RS grows up to ``replicas + maxSurge`` pods in
  all; old RSs shrink while ``replicas - maxUnavailable`` pods stay
  available (rollout.py holds the arithmetic).
- Recreate: old RSs go to zero, their pods must be gone, then the new RS
  is scaled up.
- Revisions live in ``deployment.kubernetes.io/revision``; a rollback is
  a template copied back (by ``cox rollout undo``, or ``spec.rollbackTo``).
- ``paused``: only scaling and status, no rollout progress.
- Status: counts, ``Available`` and ``Progressing`` conditions, with
  ``ProgressDeadlineExceeded`` when no progress for progressDeadlineSeconds.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from coxapi import errors, labels, timefmt
from coxapi.defaults import apply_defaults
from coxapi.meta import controller_ref, get_condition, is_terminating, key_of, owner_reference

from . import ownership, rollout
from .base import Context, Controller
from .rollout import HASH_LABEL, REVISION, REVISION_HISTORY, RS

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _replicas(obj: Obj) -> int:
    try:
        return max(0, int(_spec(obj).get("replicas", 1) or 0))
    except (TypeError, ValueError):
        return 0


def _as_rs(rs: Obj) -> RS:
    return RS(rs["metadata"]["name"], _replicas(rs),
              int((rs.get("status") or {}).get("availableReplicas") or 0),
              timefmt.parse_epoch(rs["metadata"].get("creationTimestamp")) or 0.0)


class DeploymentController(Controller):
    name = "deployment-controller"

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.deployments = ctx.informers["Deployment"]
        self.sets = ctx.informers["ReplicaSet"]
        self.sets.add_index(ownership.CONTROLLER_INDEX, ownership.controller_index)
        self.pods = ctx.informers["Pod"]
        self.pods.add_index(ownership.CONTROLLER_INDEX, ownership.controller_index)
        self.deployments.add_handler(**self.handlers())
        self.sets.add_handler(self._rs_event, lambda old, new: self._rs_changed(old, new),
                              self._rs_event)
        self.pods.add_handler(on_delete=self._pod_deleted)

    # ---- events -> deployment keys -------------------------------------------

    def _owner(self, obj: Obj, kind: str) -> Obj | None:
        ref = controller_ref(obj)
        if not ref or ref.get("kind") != kind:
            return None
        informer = self.deployments if kind == "Deployment" else self.sets
        owner = informer.get_by(obj["metadata"].get("namespace"), ref.get("name", ""))
        if owner is None or owner["metadata"].get("uid") != ref.get("uid"):
            return None
        return owner

    def _rs_event(self, rs: Obj) -> None:
        d = self._owner(rs, "Deployment")
        if d is not None:
            self.enqueue(d)
        elif controller_ref(rs) is None:
            for d in self.deployments.list(rs["metadata"].get("namespace")):
                sel = labels.from_label_selector(_spec(d).get("selector"))
                if sel and labels.matches(sel, rs["metadata"].get("labels")):
                    self.enqueue(d)

    def _rs_changed(self, old: Obj, new: Obj) -> None:
        if controller_ref(old) != controller_ref(new):
            self._rs_event(old)
        self._rs_event(new)

    def _pod_deleted(self, pod: Obj) -> None:
        rs = self._owner(pod, "ReplicaSet")
        d = self._owner(rs, "Deployment") if rs is not None else None
        if d is not None and (_spec(d).get("strategy") or {}).get("type") == "Recreate":
            self.enqueue(d)

    # ---- reconcile -------------------------------------------------------------

    def reconcile(self, key: str) -> float | None:
        d = self.deployments.get(key)
        if d is None:
            return None
        d = copy.deepcopy(d)
        selector = labels.from_label_selector(_spec(d).get("selector"))
        if not selector:
            self.events.warning(d, "SelectingAll",
                                "This deployment is selecting all pods. A non-empty selector "
                                "is required.")
            return None
        rs_list = self.claim(d, selector)
        if is_terminating(d):
            return self.sync_status(d, rs_list, self.find_new(d, rs_list))
        if (_spec(d).get("rollbackTo") or {}).get("revision") is not None:
            self.rollback(d, rs_list)
            return None
        if _spec(d).get("paused"):
            return self.sync_paused(d, rs_list)
        strategy = (_spec(d).get("strategy") or {}).get("type") or "RollingUpdate"
        if strategy == "Recreate":
            return self.rollout_recreate(d, rs_list)
        return self.rollout_rolling(d, rs_list)

    def claim(self, d: Obj, selector: labels.Selector) -> list[Obj]:
        return ownership.claim(self.objects, "ReplicaSet", d, selector,
                               ownership.candidates(self.sets, d))

    # ---- the new ReplicaSet ------------------------------------------------------

    def find_new(self, d: Obj, rs_list: list[Obj]) -> Obj | None:
        tmpl = _spec(d).get("template") or {}
        same = [rs for rs in rs_list
                if rollout.equal_ignoring_hash(_spec(rs).get("template") or {}, tmpl)]
        if not same:
            want = rollout.template_hash(tmpl, int((d.get("status") or {})
                                                   .get("collisionCount") or 0))
            same = [rs for rs in rs_list
                    if (rs["metadata"].get("labels") or {}).get(HASH_LABEL) == want]
        if not same:
            return None
        # the oldest wins if several match (Kubernetes' FindNewReplicaSet)
        return sorted(same, key=lambda r: (r["metadata"].get("creationTimestamp", ""),
                                           r["metadata"]["name"]))[0]

    def _max_revision(self, rs_list: list[Obj]) -> int:
        return max((rollout.revision_of(r) for r in rs_list), default=0)

    def get_or_create_new(self, d: Obj, rs_list: list[Obj], replicas: int) -> Obj | None:
        """The new RS with its revision set to the newest; None when a hash
        collision was recorded (the next pass retries with a new hash)."""
        new = self.find_new(d, rs_list)
        max_old = self._max_revision([r for r in rs_list if r is not new])
        if new is not None:
            return self._sync_new(d, new, max_old)
        collisions = int((d.get("status") or {}).get("collisionCount") or 0)
        h = rollout.template_hash(_spec(d).get("template") or {}, collisions)
        tmpl = copy.deepcopy(_spec(d).get("template") or {})
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = h
        selector = copy.deepcopy(_spec(d).get("selector") or {})
        selector.setdefault("matchLabels", {})[HASH_LABEL] = h
        ns = d["metadata"].get("namespace", "default")
        rs: Obj = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{d['metadata']['name']}-{h}", "namespace": ns,
                         "labels": dict(tmpl["metadata"]["labels"]),
                         "annotations": {**copied_annotations(d), REVISION: str(max_old + 1)},
                         "ownerReferences": [owner_reference(d, controller=True)]},
            "spec": {"replicas": replicas, "minReadySeconds": _spec(d).get("minReadySeconds", 0),
                     "selector": selector, "template": tmpl},
        }
        rs = apply_defaults(rs)
        try:
            created = self.objects.create(rs)
        except errors.AlreadyExists:
            # Usually our own RS, created by a pass whose result the cache did
            # not show yet. It is a collision only if its template differs from
            # the one just built (both defaulted alike: the Deployment's own
            # template may not be, when it was written past the API).
            existing = self.objects.get("ReplicaSet", ns, rs["metadata"]["name"])
            if ownership.owned_by(existing, d) and rollout.equal_ignoring_hash(
                    _spec(existing).get("template") or {}, rs["spec"]["template"]):
                return existing
            self._bump_collisions(d)
            return None
        self.events.normal(d, "ScalingReplicaSet",
                           f"Scaled up replica set {created['metadata']['name']} to {replicas}")
        self._set_progressing(d, "True", "NewReplicaSetCreated",
                              f'Created new replica set "{created["metadata"]["name"]}"')
        return created

    def _sync_new(self, d: Obj, new: Obj, max_old: int) -> Obj:
        """Keep the new RS's revision the newest (a rollback makes an old RS
        new again: its old number goes to revision-history), and its
        minReadySeconds and copied annotations in step with the deployment."""
        rev = rollout.revision_of(new)
        want_ann = copied_annotations(d)
        ann = new["metadata"].get("annotations") or {}
        min_ready = _spec(d).get("minReadySeconds", 0)
        stale_rev = rev <= max_old or rev == 0
        if not stale_rev and _spec(new).get("minReadySeconds", 0) == min_ready and \
                all(ann.get(k) == v for k, v in want_ann.items()):
            return new

        def write(cur: Obj) -> Obj:
            a = cur["metadata"].setdefault("annotations", {})
            a.update(want_ann)
            if stale_rev:
                if rev:
                    history = [h for h in (a.get(REVISION_HISTORY) or "").split(",") if h]
                    a[REVISION_HISTORY] = ",".join([*history, str(rev)])
                a[REVISION] = str(max_old + 1)
            cur.setdefault("spec", {})["minReadySeconds"] = min_ready
            return cur
        return self.objects.guaranteed_update("ReplicaSet", new["metadata"]["namespace"],
                                              new["metadata"]["name"], write)

    def _bump_collisions(self, d: Obj) -> None:
        def bump(cur: Obj) -> Obj:
            st = cur.setdefault("status", {})
            st["collisionCount"] = int(st.get("collisionCount") or 0) + 1
            return cur
        self.objects.guaranteed_update("Deployment", d["metadata"].get("namespace"),
                                       d["metadata"]["name"], bump)

    def _set_progressing(self, d: Obj, status: str, reason: str, message: str) -> None:
        """Remember a Progressing condition for the status write of this pass."""
        d.setdefault("_pending_conditions", []).append(("Progressing", status, reason, message))

    # ---- scaling -----------------------------------------------------------------

    def scale(self, d: Obj, rs: Obj, replicas: int) -> Obj:
        if _replicas(rs) == replicas:
            return rs
        before = _replicas(rs)

        def write(cur: Obj) -> Obj:
            cur.setdefault("spec", {})["replicas"] = replicas
            ann = cur["metadata"].setdefault("annotations", {})
            ann["deployment.kubernetes.io/desired-replicas"] = str(_replicas(d))
            return cur
        out = self.objects.guaranteed_update("ReplicaSet", rs["metadata"]["namespace"],
                                             rs["metadata"]["name"], write)
        verb = "up" if replicas > before else "down"
        self.events.normal(d, "ScalingReplicaSet",
                           f"Scaled {verb} replica set {rs['metadata']['name']} "
                           f"from {before} to {replicas}")
        return out

    # ---- strategies ------------------------------------------------------------------

    def rollout_rolling(self, d: Obj, rs_list: list[Obj]) -> float | None:
        replicas = _replicas(d)
        strategy = (_spec(d).get("strategy") or {}).get("rollingUpdate") or {}
        surge, unavailable = rollout.fenceposts(strategy.get("maxSurge", "25%"),
                                                strategy.get("maxUnavailable", "25%"), replicas)
        new = self.find_new(d, rs_list)
        old = [r for r in rs_list if r is not new]
        if new is None:
            start = rollout.new_rs_replicas(replicas, surge, RS("new", 0),
                                            [_as_rs(r) for r in old])
            new = self.get_or_create_new(d, rs_list, start)
            if new is None:
                return 0.1
        else:
            new = self.get_or_create_new(d, rs_list, _replicas(new)) or new
            if _replicas(new) > replicas:
                new = self.scale(d, new, replicas)
            elif _replicas(new) < replicas:
                want = rollout.new_rs_replicas(replicas, surge, _as_rs(new),
                                               [_as_rs(r) for r in rs_list])
                new = self.scale(d, new, want)
        plan = rollout.old_scale_down(replicas, unavailable, _as_rs(new),
                                      [_as_rs(r) for r in old])
        by_name = {r["metadata"]["name"]: r for r in old}
        for name, n in plan.items():
            by_name[name] = self.scale(d, by_name[name], n)
        old = list(by_name.values())
        if self._complete(d, new, old):
            self.cleanup(d, old)
        return self.sync_status(d, [new, *old], new)

    def rollout_recreate(self, d: Obj, rs_list: list[Obj]) -> float | None:
        new = self.find_new(d, rs_list)
        old = [r for r in rs_list if r is not new]
        scaled = [self.scale(d, r, 0) for r in old]
        if any(_replicas(r) for r in scaled):
            return self.sync_status(d, rs_list, new)
        running = [p for r in old for p in ownership.controlled(self.pods, r)
                   if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        if running:  # Recreate means no old pod runs next to a new one
            return self.sync_status(d, [*scaled, *([new] if new else [])], new)
        if new is None:
            new = self.get_or_create_new(d, rs_list, _replicas(d))
            if new is None:
                return 0.1
        else:
            new = self.get_or_create_new(d, rs_list, _replicas(new)) or new
        new = self.scale(d, new, _replicas(d))
        if self._complete(d, new, scaled):
            self.cleanup(d, scaled)
        return self.sync_status(d, [new, *scaled], new)

    def sync_paused(self, d: Obj, rs_list: list[Obj]) -> float | None:
        """Paused: keep the total at spec.replicas by scaling the newest active
        RS (or the new one), never move the rollout forward."""
        new = self.find_new(d, rs_list)
        active = [r for r in rs_list if _replicas(r) > 0]
        total = sum(_replicas(r) for r in rs_list)
        diff = _replicas(d) - total
        if diff and (new is not None or active):
            target = new if new is not None else max(
                active, key=lambda r: (rollout.revision_of(r), r["metadata"]["name"]))
            scaled = self.scale(d, target, max(0, _replicas(target) + diff))
            rs_list = [scaled if r is target else r for r in rs_list]
        return self.sync_status(d, rs_list, new)

    def _complete(self, d: Obj, new: Obj | None, old: list[Obj]) -> bool:
        if new is None:
            return False
        st = new.get("status") or {}
        return (_replicas(new) == _replicas(d)
                and int(st.get("availableReplicas") or 0) >= _replicas(d)
                and int(st.get("replicas") or 0) == _replicas(d)
                and not any(_replicas(r) or int((r.get("status") or {}).get("replicas") or 0)
                            for r in old))

    def cleanup(self, d: Obj, old: list[Obj]) -> None:
        """Delete old, empty ReplicaSets beyond revisionHistoryLimit, oldest
        revision first."""
        limit = _spec(d).get("revisionHistoryLimit")
        if limit is None:
            return
        alive = [r for r in old if not is_terminating(r)]
        extra = len(alive) - int(limit)
        if extra <= 0:
            return
        for rs in sorted(alive, key=lambda r: (rollout.revision_of(r),
                                               r["metadata"].get("creationTimestamp", "")))[:extra]:
            if _replicas(rs) or int((rs.get("status") or {}).get("replicas") or 0):
                continue
            try:
                self.objects.delete("ReplicaSet", rs["metadata"]["namespace"],
                                    rs["metadata"]["name"],
                                    expect_resource_version=rs["metadata"].get("resourceVersion"))
            except (errors.NotFound, errors.Conflict):
                continue

    # ---- rollback -----------------------------------------------------------------

    def rollback(self, d: Obj, rs_list: list[Obj]) -> None:
        """Legacy ``spec.rollbackTo.revision`` (0 = the previous revision):
        copy that revision's template into the deployment."""
        want = int((_spec(d).get("rollbackTo") or {}).get("revision") or 0)
        if want == 0:
            revs = sorted({rollout.revision_of(r) for r in rs_list}, reverse=True)
            want = revs[1] if len(revs) > 1 else 0
        target = next((r for r in rs_list if want and rollout.revision_of(r) == want), None)
        uid = d["metadata"].get("uid")

        def write(cur: Obj) -> Obj | None:
            if cur["metadata"].get("uid") != uid:
                return None
            cur["spec"].pop("rollbackTo", None)
            if target is not None:
                cur["spec"]["template"] = rollout.strip_hash(_spec(target).get("template") or {})
            return cur
        self.objects.guaranteed_update("Deployment", d["metadata"].get("namespace"),
                                       d["metadata"]["name"], write)
        if target is None:
            self.events.warning(d, "DeploymentRollbackRevisionNotFound",
                                f"Unable to find the revision to rollback to: {want}")
        else:
            self.events.normal(d, "DeploymentRollback",
                               f"Rolled back deployment {d['metadata']['name']} to revision {want}")

    # ---- status ------------------------------------------------------------------------

    def sync_status(self, d: Obj, rs_list: list[Obj], new: Obj | None) -> float | None:
        now = self.config.clock()
        replicas = _replicas(d)

        def count(field: str, items: list[Obj]) -> int:
            return sum(int((r.get("status") or {}).get(field) or 0) for r in items)
        rs_list = [r for r in rs_list if r is not None]
        available = count("availableReplicas", rs_list)
        status = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": count("replicas", rs_list),
            "updatedReplicas": count("replicas", [new]) if new else 0,
            "readyReplicas": count("readyReplicas", rs_list),
            "availableReplicas": available,
            # as Kubernetes: the RSs' desired total minus what is available
            "unavailableReplicas": max(0, sum(_replicas(r) for r in rs_list) - available),
        }
        old = d.get("status") or {}
        strategy = (_spec(d).get("strategy") or {})
        if strategy.get("type") == "Recreate":
            min_available = replicas
        else:
            ru = strategy.get("rollingUpdate") or {}
            _, unavailable = rollout.fenceposts(ru.get("maxSurge", "25%"),
                                                ru.get("maxUnavailable", "25%"), replicas)
            min_available = replicas - unavailable
        pending: list[tuple[str, str, str, str]] = list(d.pop("_pending_conditions", []))
        conds = list(pending)
        if available >= min_available:
            conds.append(("Available", "True", "MinimumReplicasAvailable",
                          "Deployment has minimum availability."))
        else:
            conds.append(("Available", "False", "MinimumReplicasUnavailable",
                          "Deployment does not have minimum availability."))
        recheck = None
        new_name = new["metadata"]["name"] if new else ""
        progress = _progressing(d, now, new, rs_list, status, old, fresh=bool(pending))
        bump = False
        if progress is not None:
            conds.append(progress[0])
            recheck, bump = progress[1], progress[2]
        cur_conds = copy.deepcopy(old.get("conditions") or [])
        for ctype, st, reason, msg in conds:
            _set_condition(cur_conds, ctype, st, reason, msg, now,
                           progressed=bump and ctype == "Progressing")
        status["conditions"] = cur_conds
        rev = rollout.revision_of(new) if new else 0
        ann_changed = rev and str(rev) != ((d["metadata"].get("annotations") or {})
                                           .get(REVISION))
        if any(old.get(k) != v for k, v in status.items()) or ann_changed:
            uid = d["metadata"].get("uid")

            def write(cur: Obj) -> Obj | None:
                if cur["metadata"].get("uid") != uid:
                    return None
                cur.setdefault("status", {}).update(status)
                if rev:
                    cur["metadata"].setdefault("annotations", {})[REVISION] = str(rev)
                return cur
            self.objects.guaranteed_update("Deployment", d["metadata"].get("namespace"),
                                           d["metadata"]["name"], write)
            if new_name and _complete_status(status, replicas) and not _complete_status(
                    old, replicas):
                log.info("deployment %s: rollout to %s complete", key_of(d), new_name)
        return recheck


# Annotations of a Deployment that are not copied to its ReplicaSets.
_NOT_COPIED = ("kubectl.kubernetes.io/last-applied-configuration", REVISION,
               REVISION_HISTORY,
               "deployment.kubernetes.io/desired-replicas", "deployment.kubernetes.io/max-replicas")


def copied_annotations(d: Obj) -> dict[str, str]:
    """The Deployment's annotations its new ReplicaSet carries (e.g.
    ``kubernetes.io/change-cause`` for ``rollout history``)."""
    return {k: v for k, v in (d["metadata"].get("annotations") or {}).items()
            if k not in _NOT_COPIED}


def _complete_status(st: Obj, replicas: int) -> bool:
    return (int(st.get("updatedReplicas") or 0) == replicas
            and int(st.get("replicas") or 0) == replicas
            and int(st.get("availableReplicas") or 0) == replicas)


def _made_progress(old: Obj, new: Obj) -> bool:
    """Kubernetes' DeploymentProgressing: more updated, ready or available
    replicas, or fewer old ones, than at the last status."""
    old_old = int(old.get("replicas") or 0) - int(old.get("updatedReplicas") or 0)
    new_old = int(new.get("replicas") or 0) - int(new.get("updatedReplicas") or 0)
    return (int(new.get("updatedReplicas") or 0) > int(old.get("updatedReplicas") or 0)
            or new_old < old_old
            or int(new.get("readyReplicas") or 0) > int(old.get("readyReplicas") or 0)
            or int(new.get("availableReplicas") or 0) > int(old.get("availableReplicas") or 0))


Progress = tuple[tuple[str, str, str, str], float | None, bool]


def _progressing(d: Obj, now: float, new: Obj | None, rs_list: list[Obj], status: Obj,
                 old: Obj, fresh: bool) -> Progress | None:
    """The Progressing condition for this status, when to look again for the
    deadline, and whether this counts as progress (resets the deadline)."""
    spec = _spec(d)
    if spec.get("paused"):
        return ("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"), None, False
    cond = get_condition(d, "Progressing")
    if cond and cond.get("reason") == "DeploymentPaused":
        return (("Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed"),
                0.0, True)
    if new is None:
        return None
    name = new["metadata"]["name"]
    if _complete_status(status, _replicas(d)) and not [
            r for r in rs_list if r is not new and int((r.get("status") or {})
                                                       .get("replicas") or 0)]:
        return ("Progressing", "True", "NewReplicaSetAvailable",
                f'ReplicaSet "{name}" has successfully progressed.'), None, False
    deadline = spec.get("progressDeadlineSeconds")
    updating = ("Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.')
    restarted = fresh or cond is None or cond.get("reason") in (
        "NewReplicaSetAvailable", "DeploymentResumed")
    if restarted or _made_progress(old, status) or deadline is None:
        return updating, (float(deadline) + 0.01 if deadline else None), True
    assert cond is not None  # a missing condition counts as restarted
    timed_out = ("Progressing", "False", "ProgressDeadlineExceeded",
                 f'ReplicaSet "{name}" has timed out progressing.')
    if cond.get("reason") == "ProgressDeadlineExceeded":
        return timed_out, None, False
    last = timefmt.parse_epoch(cond.get("lastUpdateTime")) or now
    left = last + float(deadline) - now
    if left <= 0:
        return timed_out, None, False
    return updating, left + 0.01, False


def _set_condition(conds: list[Obj], ctype: str, status: str, reason: str, message: str,
                   now: float, progressed: bool) -> None:
    stamp = timefmt.rfc3339(now)
    for c in conds:
        if c.get("type") != ctype:
            continue
        if c.get("status") != status:
            c["lastTransitionTime"] = stamp
            c["lastUpdateTime"] = stamp
        elif c.get("reason") != reason or c.get("message") != message or progressed:
            c["lastUpdateTime"] = stamp
        c.update(status=status, reason=reason, message=message)
        return
    conds.append({"type": ctype, "status": status, "reason": reason, "message": message,
                  "lastUpdateTime": stamp, "lastTransitionTime": stamp})

