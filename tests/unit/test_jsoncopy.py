"""coxapi.jsoncopy: a deep copy of JSON documents, and of anything else too."""

from __future__ import annotations

import json

from coxapi.jsoncopy import json_copy

DOC = {"metadata": {"name": "a", "labels": {"x": "1"}, "generation": 1},
       "spec": {"list": [{"n": 1.5}, [True, None]], "empty": {}}}


def test_a_copy_equals_the_document_and_shares_no_container():
    doc = json.loads(json.dumps(DOC))
    out = json_copy(doc)
    assert out == DOC
    out["metadata"]["labels"]["x"] = "changed"
    out["spec"]["list"][0]["n"] = 2
    out["spec"]["list"][1].append("more")
    out["spec"]["empty"]["k"] = "v"
    assert doc == DOC


def test_values_json_does_not_have_are_deep_copied_all_the_same():
    inner = {"k": [1]}
    doc = {"t": (inner,), "s": {1, 2}}
    out = json_copy(doc)
    assert out == doc
    out["t"][0]["k"].append(2)
    out["s"].add(3)
    assert doc == {"t": ({"k": [1]},), "s": {1, 2}}
