"""Pod Security admission (``coxapi.podsecurity``): each namespace's level
comes from its ``pod-security.kubernetes.io/enforce`` label (and ``warn``);
without one, user namespaces get ``baseline`` and ``kube-system`` is
``privileged``. A pod that violates the enforced level is refused (403) —
whether a client or a controller creates it; one that violates the warn level,
and a workload whose template violates either, is admitted with warnings."""

from __future__ import annotations

from typing import Any

from coxapi import errors, kinds, podsecurity

from ..objects import ObjectStore

Obj = dict[str, Any]
DEFAULT_LEVEL = "baseline"
PRIVILEGED_NAMESPACES = ("kube-system",)


def namespace_levels(objects: ObjectStore, namespace: str) -> tuple[str, str]:
    default = "privileged" if namespace in PRIVILEGED_NAMESPACES else DEFAULT_LEVEL
    try:
        ns = objects.get("Namespace", None, namespace, linearizable=False)
    except errors.NotFound:
        ns = {}
    return podsecurity.levels(ns, default)


def admit(objects: ObjectStore, kind: kinds.Kind, obj: Obj) -> list[str]:
    """The warnings for ``obj``; raises Forbidden when a pod violates the
    namespace's enforced level."""
    subject = kind.strategy.pod_template(obj)
    if subject is None:
        return []
    meta, spec, enforced = subject
    namespace = (obj.get("metadata") or {}).get("namespace") or "default"
    enforce, warn = namespace_levels(objects, namespace)
    name = (obj.get("metadata") or {}).get("name") or ""
    bad = podsecurity.violations(enforce, meta, spec)
    if bad and enforced:
        raise errors.Forbidden(podsecurity.message(name, enforce, bad),
                               {"name": name, "kind": kind.plural})
    if bad:
        return [f'would violate PodSecurity "{enforce}:latest": ' + "; ".join(bad)]
    bad = podsecurity.violations(warn, meta, spec)
    return [f'would violate PodSecurity "{warn}:latest": ' + "; ".join(bad)] if bad else []


def admitted_pod(objects: ObjectStore, pod: Obj) -> Obj:
    """``pod``, which a controller is about to create, once Pod Security admits
    it (raises Forbidden as for a client's pod; warnings have no one to go to)."""
    admit(objects, kinds.lookup("Pod"), pod)
    return pod
