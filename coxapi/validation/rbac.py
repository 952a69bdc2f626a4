"""Validation of RBAC roles and bindings, and of ServiceAccounts."""

from __future__ import annotations

from typing import Any

from .common import Errors, is_str, object_list, one_of, string_list

Obj = dict[str, Any]
RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ("User", "Group", "ServiceAccount")


def path_segment_name(value: str) -> str | None:
    """Kubernetes' rule for RBAC names: any path segment (``system:node`` is fine)."""
    if value in (".", "..") or "/" in value or "%" in value:
        return "may not be '.' or '..' and may not contain '/' or '%'"
    return None if value else "must not be empty"


def validate_role(errs: Errors, obj: Obj, cluster: bool) -> None:
    for field, rule in object_list(errs, "rules", obj.get("rules")):
        for key in ("verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"):
            string_list(errs, f"{field}.{key}", rule.get(key))
        if not rule.get("verbs"):
            errs.add(f"{field}.verbs", "Required value: verbs must contain at least one value")
        urls, resources = rule.get("nonResourceURLs"), rule.get("resources")
        if urls and not cluster:
            errs.add(f"{field}.nonResourceURLs", "Invalid value: namespaced rules cannot apply "
                                                  "to non-resource URLs")
        if urls and resources:
            errs.add(f"{field}.nonResourceURLs", "Invalid value: rules cannot apply to both "
                                                  "regular resources and non-resource URLs")
        if not urls and not resources:
            errs.add(f"{field}.resources", "Required value: resource rules must supply at "
                                           "least one resource (or nonResourceURLs)")
        if resources and not rule.get("apiGroups"):
            errs.add(f"{field}.apiGroups", "Required value: resource rules must supply at "
                                           "least one api group")


def validate_binding(errs: Errors, obj: Obj, cluster: bool) -> None:
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        errs.add("roleRef", "Required value")
    else:
        one_of(errs, "roleRef.apiGroup", ref.get("apiGroup"), (RBAC_GROUP,))
        one_of(errs, "roleRef.kind", ref.get("kind"),
               ("ClusterRole",) if cluster else ("Role", "ClusterRole"))
        if not is_str(ref.get("name")) or not ref.get("name"):
            errs.add("roleRef.name", "Required value")
    for field, s in object_list(errs, "subjects", obj.get("subjects")):
        if one_of(errs, f"{field}.kind", s.get("kind"), SUBJECT_KINDS) \
                and s.get("kind") == "ServiceAccount" and cluster and not s.get("namespace"):
            errs.add(f"{field}.namespace", "Required value")
        if not is_str(s.get("name")) or not s.get("name"):
            errs.add(f"{field}.name", "Required value")


def binding_update(errs: Errors, old: Obj, new: Obj) -> None:
    if old.get("roleRef") != new.get("roleRef"):
        errs.add("roleRef", "Invalid value: cannot change roleRef")


def validate_service_account(errs: Errors, obj: Obj) -> None:
    for field, ref in object_list(errs, "secrets", obj.get("secrets")):
        if not is_str(ref.get("name")):
            errs.add(f"{field}.name", "Required value")
    for field, ref in object_list(errs, "imagePullSecrets", obj.get("imagePullSecrets")):
        if not is_str(ref.get("name")):
            errs.add(f"{field}.name", "Required value")
