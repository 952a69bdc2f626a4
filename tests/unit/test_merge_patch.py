"""coxapi.meta.merge_patch against RFC 7386's own examples (Appendix A), and
that it leaves both of its inputs as they were."""

from __future__ import annotations

import copy

import pytest

from coxapi.meta import merge_patch

RFC_7386_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "want"), RFC_7386_EXAMPLES)
def test_the_rfc_examples(target, patch, want):
    assert merge_patch(target, patch) == want


def test_neither_input_is_changed_nor_shared_with_the_result():
    target = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"ports": [{"port": 80}]}}
    patch = {"metadata": {"labels": {"a": None, "c": "3"}}, "spec": {"extra": {"x": [1]}}}
    before_t, before_p = copy.deepcopy(target), copy.deepcopy(patch)
    out = merge_patch(target, patch)
    assert out == {"metadata": {"labels": {"b": "2", "c": "3"}},
                   "spec": {"ports": [{"port": 80}], "extra": {"x": [1]}}}
    assert (target, patch) == (before_t, before_p)
    out["spec"]["ports"][0]["port"] = 81
    out["spec"]["extra"]["x"].append(2)
    assert (target, patch) == (before_t, before_p)
