"""SelfSubjectReview (authentication.k8s.io/v1): who am I?
``kubectl auth whoami`` asks it; the answer is computed, never stored."""

from __future__ import annotations

from typing import Any

from .columns import Column
from .kind import Kind
from .strategy import NodeWrite, Reviewer, Strategy

Obj = dict[str, Any]


class SelfSubjectReviewStrategy(Strategy):
    review = True
    columns = (Column("USERNAME", ".status.userInfo.username"),)

    def node_write(self, w: NodeWrite) -> str | None:
        return None if w.method == "POST" else w.denied()  # a review stores nothing

    def answer(self, obj: Obj, reviewer: Reviewer) -> Obj:
        return {**obj, "status": {"userInfo": reviewer.user_info()}}


KIND = Kind("SelfSubjectReview", "selfsubjectreviews", "authentication.k8s.io", "v1", False,
            verbs=("create",), strategy=SelfSubjectReviewStrategy())
