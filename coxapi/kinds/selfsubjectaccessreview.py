"""SelfSubjectAccessReview (authorization.k8s.io/v1): may I do this?
``kubectl auth can-i`` asks it; the answer is computed, never stored."""

from __future__ import annotations

from typing import Any

from coxapi.validation.common import Errors

from .columns import Column
from .kind import Kind
from .strategy import NodeWrite, Reviewer, Strategy

Obj = dict[str, Any]


class SelfSubjectAccessReviewStrategy(Strategy):
    review = True
    columns = (Column("ALLOWED", ".status.allowed"),)

    def validate(self, errs: Errors, obj: Obj) -> None:
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            errs.add("spec", "Required value")
            return
        res, non = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (res is None) == (non is None):
            errs.add("spec.resourceAttributes",
                     "Invalid value: exactly one of resourceAttributes and "
                     "nonResourceAttributes must be specified")
        for field, attrs in (("resourceAttributes", res), ("nonResourceAttributes", non)):
            if attrs is not None and not isinstance(attrs, dict):
                errs.add(f"spec.{field}", "must be an object")

    def node_write(self, w: NodeWrite) -> str | None:
        return None if w.method == "POST" else w.denied()  # a review stores nothing

    def answer(self, obj: Obj, reviewer: Reviewer) -> Obj:
        allowed, reason = reviewer.access(obj["spec"])
        status: Obj = {"allowed": allowed}
        if reason:
            status["reason"] = reason
        return {**obj, "status": status}


KIND = Kind("SelfSubjectAccessReview", "selfsubjectaccessreviews", "authorization.k8s.io", "v1",
            False, verbs=("create",), strategy=SelfSubjectAccessReviewStrategy())
