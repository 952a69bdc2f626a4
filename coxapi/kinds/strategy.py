"""``Strategy``: everything the API server, its admission layer, the node
authorizer, the controllers and the CLI need to know about one kind, in the
spirit of Kubernetes' RESTStrategy. The base class is the generic behaviour;
a kind's module subclasses it and overrides only what differs.

Pure: no store access, the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from coxapi import patchmeta
from coxapi.jsoncopy import json_copy
from coxapi.meta import is_terminating
from coxapi.timefmt import rfc3339
from coxapi.validation.common import Errors, dns1123_subdomain

from .columns import AGE, Column

Obj = dict[str, Any]
FOREGROUND = "foregroundDeletion"
# What a ``NodeWrite.bound_node`` returns for an object that does not exist:
# the request goes on and gets its 404 from the handler.
ABSENT = "\0absent"


@dataclass(frozen=True)
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_resource_version: str | None = None


@dataclass(frozen=True)
class DeletePlan:
    """``remove``: delete the key now. Otherwise ``updated`` (when not None) is
    the marked object to write, and the object stays."""

    remove: bool
    updated: Obj | None = None


@dataclass(frozen=True)
class NodeWrite:
    """A write by the node named ``node`` (user ``system:node:<node>``)."""

    node: str
    method: str  # POST, PUT, PATCH or DELETE
    namespace: str | None
    name: str | None  # from the URL, or the body of a POST
    collection: bool  # the URL names no object (a POST to the collection)
    subresource: str | None
    resource: str  # plural, for messages
    bound_node: Callable[[], str | None]  # the node the stored object is bound to, or ABSENT
    referenced: Callable[[], bool] = lambda: False  # a pod bound to the node uses the object

    def denied(self) -> str:
        return f"node {self.node} may not {self.method} {self.resource}" + (
            f"/{self.subresource}" if self.subresource else "")


@dataclass(frozen=True)
class NodeRead:
    """A read by the node named ``node``: ``verb`` is get, list or watch."""

    node: str
    verb: str
    namespace: str | None
    name: str | None
    subresource: str | None
    resource: str  # plural, for messages
    referenced: Callable[[], bool]  # a pod bound to the node uses this object

    def only_referenced(self) -> str | None:
        """Kubernetes' Node authorizer for Secrets and ConfigMaps: a node gets
        one by name, and only if a pod bound to it uses it (never a list)."""
        if self.verb == "get" and self.name and self.subresource is None and self.referenced():
            return None
        return f"node {self.node} may only get {self.resource} used by pods bound to it"


class Reviewer(Protocol):
    """What a review kind asks the server about the caller."""

    def user_info(self) -> Obj:
        """``{"username", "uid", "groups"}`` of the caller."""
        ...

    def access(self, spec: Obj) -> tuple[bool, str]:
        """Whether the caller may do what a SelfSubjectAccessReview's spec
        describes, and why not."""
        ...


class Strategy:
    """The generic behaviour of a kind; every hook is a no-op or the common rule."""

    # ---- storage and API ----
    # Objects live on a store lease and expire with it (Events).
    lease_backed = False
    # A PUT to a missing object creates it (Kubernetes' AllowCreateOnUpdate).
    create_on_update = False
    # Objects may carry ownerReferences (orphaning scans them).
    has_owners = True
    # Fields a field selector may name, besides metadata.name and metadata.namespace.
    field_selectors: tuple[str, ...] = ()
    # Maps whose values `cox apply` records only as digests in the last-applied
    # annotation (a Secret's values must not be copied there in clear).
    apply_hashed_fields: tuple[str, ...] = ()

    # A review (SelfSubjectAccessReview): a POST is answered by ``answer`` and
    # nothing is stored; no other verb.
    review = False

    def answer(self, obj: Obj, reviewer: Reviewer) -> Obj:
        """The review with its status filled in."""
        raise NotImplementedError

    # Which lists a strategic merge patch merges, by which key (coxapi.smp).
    patch_fields: patchmeta.Fields = patchmeta.DEFAULT

    # ---- names and validation ----
    name_check: Callable[[str], str | None] = staticmethod(dns1123_subdomain)

    def defaults(self, obj: Obj) -> None:
        """Fill defaulted fields in place; tolerate malformed input."""

    def validate(self, errs: Errors, obj: Obj) -> None:
        """Add the kind's own problems (metadata is checked generically)."""

    def validate_update(self, errs: Errors, old: Obj, new: Obj) -> None:
        """Add the rules about what may not change from ``old``."""

    # ---- admission ----
    def prepare_for_create(self, obj: Obj) -> None:
        """Set what the server owns on create, such as the initial status."""

    def prepare_for_update(self, old: Obj, new: Obj) -> None:
        """Carry over from ``old`` what a client may leave out of ``new``."""

    def canonicalize(self, obj: Obj) -> None:
        """Normalize on create and update, after defaults (may raise ``Invalid``)."""

    # ---- deletion ----
    # Deleting asks a node to stop the object first: controllers delete these
    # the way the API does (graceful) and wait for them to go.
    graceful_deletion = False
    # A DELETE that removes the object at once answers the object (True), or a
    # Status (False), as Kubernetes' registry does (its ReturnDeletedObject).
    return_deleted_object = False
    # The namespace controller deletes these after everything else, so those
    # deletions can still be recorded.
    delete_last = False

    def grace_period(self, obj: Obj, requested: int | None) -> int:
        """Seconds the object is given to stop before it goes; 0: at once."""
        return 0

    def plan_delete(self, obj: Obj, options: DeleteOptions, now: datetime) -> DeletePlan:
        """Remove now, or mark (deletionTimestamp) for graceful deletion or
        for finalizers to run."""
        m = obj["metadata"]
        grace = self.grace_period(obj, options.grace_period_seconds)
        if grace > 0 and not m.get("finalizers"):
            if is_terminating(obj):
                return DeletePlan(False)  # already counting down
            new = json_copy(obj)
            new["metadata"]["deletionTimestamp"] = rfc3339(now + timedelta(seconds=grace))
            new["metadata"]["deletionGracePeriodSeconds"] = grace
            return DeletePlan(False, new)
        finalizers = list(m.get("finalizers") or [])
        if options.propagation_policy == "Foreground" and FOREGROUND not in finalizers:
            finalizers.append(FOREGROUND)
        if finalizers:
            if is_terminating(obj) and finalizers == list(m.get("finalizers") or []):
                return DeletePlan(False)
            new = json_copy(obj)
            new["metadata"]["finalizers"] = finalizers
            new["metadata"].setdefault("deletionTimestamp", rfc3339(now))
            new["metadata"].setdefault("deletionGracePeriodSeconds", 0)
            return DeletePlan(False, new)
        return DeletePlan(True)

    def remove_when_finalized(self, obj: Obj) -> bool:
        """A terminating object whose last finalizer is gone is removed by the
        update that cleared it, unless this says it waits for someone else."""
        return True

    # ---- node authorizer ----
    def bound_node(self, obj: Obj) -> str | None:
        """The node an object belongs to, for the node authorizer."""
        return None

    def node_write(self, w: NodeWrite) -> str | None:
        """None when a node may make this write, else why it may not."""
        return w.denied()

    # ---- quota and in-flight limits ----
    def uses_quota(self, obj: Obj) -> bool:
        """Whether ``obj`` counts against its namespace's quotas (a pod stops
        when it has finished)."""
        return True

    def compute_usage(self, obj: Obj, section: str, resource: str) -> tuple[int, list[str]]:
        """``obj``'s ``requests``/``limits`` (``section``) of ``cpu`` (millicores)
        or ``memory`` (bytes), and the containers that do not say; none for
        kinds that run nothing."""
        return 0, []

    def is_heartbeat(self, node: str, method: str, namespace: str | None, name: str | None,
                     subresource: str | None) -> bool:
        """Whether this request is node ``node``'s heartbeat, served from a
        budget of its own (master.inflight)."""
        return False

    def node_read(self, r: NodeRead) -> str | None:
        """None when a node may make this read (the default), else why not."""
        return None

    def node_admit(self, node: str, old: Obj | None, new: Obj) -> str | None:
        """NodeRestriction on the object a node writes (``old`` None: a create):
        None to admit it, else why it may not be written by that node."""
        return None

    def pod_template(self, obj: Obj) -> tuple[Obj, Obj, bool] | None:
        """For Pod Security admission: ``(metadata, spec, enforced)`` of the pod
        this object is or makes (a pod is enforced; a workload's template only
        warned about, as Kubernetes does), or None."""
        return None

    def write_requires(self, obj: Obj) -> tuple[tuple[str, str, str, str], ...]:
        """``(verb, api group, resource, name)`` a writer of ``obj`` must also be
        allowed in its namespace: RBAC's guard against escalation (binding a
        role needs ``bind`` on it, writing a role ``escalate``)."""
        return ()

    def references(self, obj: Obj) -> Iterable[tuple[str, str]]:
        """``(kind, name)`` of the objects in its namespace this object uses (a
        pod's Secrets, ConfigMaps and ServiceAccount), for the node authorizer."""
        return ()

    # ---- printing ----
    columns: tuple[Column, ...] = (AGE,)
    name_column = True

    def sort_for_table(self, objs: list[Obj]) -> list[Obj]:
        return objs
