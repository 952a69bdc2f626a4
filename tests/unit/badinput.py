"""Hypothesis strategies for bad input to the API and to ``cox apply``: objects
of every kind made almost valid (wrong types at any path, huge, negative and
float numbers, unicode and control characters, deep nesting, nulls, shapes
swapped), hostile names, query strings, paths, patches of each type and
manifests. Used by test_bad_input_properties."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import strategies as st

from coxapi import kinds
from tests.unit.test_api_crud import SAMPLES

Obj = dict[str, Any]
NAMESPACE = "default"

# ---- strategies --------------------------------------------------------------

# Text a client can send: control characters, surrogates-free unicode, the
# characters that mean something in paths, selectors and label keys.
HOSTILE_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", " ", "..", ".", "/", "%2F", "a/b", "../x", "\x00", "\n", "\t",
                     "ä", "🚀", "a" * 254, "a" * 64, "-a", "a-", "A", "a_b", "$patch",
                     "metadata", "null", "true", "0", "-1", "1e400", "x=y", "!x",
                     "x in (a,b", "x notin ()", "a,b", "==", "=", "\u202e", "\ufeff"]),
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 2**31, 2**63, -(2**63) - 1, 10**30]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.5, -0.0, 1e308, 1.5]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, HOSTILE_TEXT)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(HOSTILE_TEXT, inner, max_size=4)),
    max_leaves=12,
)


def _paths(doc: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into ``doc`` (dict keys and list indexes), the root included."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


def _deep(levels: int) -> Any:
    doc: Any = "leaf"
    for i in range(levels):
        doc = {"a": doc} if i % 2 else [doc]
    return doc


def _replace(doc: Any, path: tuple, make: Callable[[Any], Any]) -> Any:
    if not path:
        return make(doc)
    parent = doc
    for p in path[:-1]:
        parent = parent[p]
    parent[path[-1]] = make(parent[path[-1]])
    return doc


# How one spot of a document goes wrong.
_MUTATIONS: tuple[tuple[str, Callable[[Any, Any], Any]], ...] = (
    ("junk", lambda old, junk: junk),
    ("null", lambda old, junk: None),
    ("in a list", lambda old, junk: [old]),
    ("list to object", lambda old, junk: dict(enumerate(old)) if isinstance(old, list) else old),
    ("object to list", lambda old, junk: list(old.values()) if isinstance(old, dict) else old),
    ("stringified", lambda old, junk: json.dumps(old)),
    ("deep", lambda old, junk: _deep(60)),
    ("key added", lambda old, junk: {**old, "$patch": junk, "": junk, "metadata ": junk}
     if isinstance(old, dict) else old),
    ("huge number", lambda old, junk: 10**40 if isinstance(old, int) else old),
    ("negative", lambda old, junk: -old if isinstance(old, int | float) else old),
    ("float", lambda old, junk: old + 0.5 if isinstance(old, int) else old),
)


@st.composite
def mutated(draw: st.DrawFn, base: Obj, max_mutations: int = 3) -> Obj:
    """``base`` with a few spots made wrong: wrong types, nulls, junk, shapes swapped."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, max_mutations))):
        path = draw(st.sampled_from(list(_paths(doc))))
        _name, mutate = draw(st.sampled_from(_MUTATIONS))
        junk = draw(JUNK)
        doc = _replace(doc, path, lambda old, m=mutate, j=junk: m(old, j))
    return doc


@st.composite
def hostile_meta(draw: st.DrawFn, base: Obj) -> Obj:
    """``base`` with hostile names, labels and annotations in its metadata."""
    doc = copy.deepcopy(base)
    meta = doc.setdefault("metadata", {})
    field = draw(st.sampled_from(["name", "generateName", "labels", "annotations", "namespace",
                                  "finalizers", "ownerReferences", "resourceVersion", "uid"]))
    if field in ("labels", "annotations"):
        meta[field] = draw(st.dictionaries(HOSTILE_TEXT, st.one_of(HOSTILE_TEXT, JUNK),
                                           min_size=1, max_size=3))
    elif field in ("finalizers", "ownerReferences"):
        meta[field] = draw(st.lists(st.one_of(HOSTILE_TEXT, JUNK), min_size=1, max_size=3))
    else:
        meta[field] = draw(st.one_of(HOSTILE_TEXT, JUNK))
    return doc


# Reviews (SelfSubjectAccessReview, ...) are answered, never stored: nothing to seed.
KIND_LIST = [k for k in kinds.KINDS if not k.strategy.review]


def sample_body(kind: kinds.Kind) -> Obj:
    body = copy.deepcopy(SAMPLES[kind.kind])
    body["kind"], body["apiVersion"] = kind.kind, kind.api_version
    body["metadata"].pop("namespace", None)
    return body


def base_body(kind: kinds.Kind) -> st.SearchStrategy[Obj]:
    """A valid object of ``kind`` to spoil: the small sample, or one with many
    more fields set where there is one."""
    bodies = [sample_body(kind)]
    if kind.kind in RICH:
        rich = copy.deepcopy(RICH[kind.kind])
        rich["kind"], rich["apiVersion"] = kind.kind, kind.api_version
        bodies.append(rich)
    return st.sampled_from(bodies).map(copy.deepcopy)


def seed_base(kind: kinds.Kind) -> st.SearchStrategy[Obj]:
    """``base_body`` named as the seed object of its kind (to update or patch it)."""
    def named(body: Obj) -> Obj:
        body["metadata"]["name"] = seed_name(kind)
        return body
    return base_body(kind).map(named)


def seed_name(kind: kinds.Kind) -> str:
    return "fuzz-seed" if kind.kind != "Namespace" else "fuzz-seed-ns"


def seed_body(kind: kinds.Kind) -> Obj:
    body = sample_body(kind)
    body["metadata"]["name"] = seed_name(kind)
    return body


def collection(kind: kinds.Kind) -> str:
    return kind.path(NAMESPACE if kind.namespaced else None)


def object_path(kind: kinds.Kind, name: str | None = None) -> str:
    return kind.path(NAMESPACE if kind.namespaced else None, name or seed_name(kind))


QUERY_VALUES = st.one_of(HOSTILE_TEXT, NUMBERS.map(str),
                         st.sampled_from(["true", "false", "All", "Strict", "Warn", "Ignore",
                                          "Orphan", "Foreground", "Background", "0", "1",
                                          "eyJrIjoiL3JlZ2lzdHJ5L3BvZHMvIn0=", "e30=", "bnVsbA==",
                                          "metadata.name=x", "metadata.name!=", "spec.x==y",
                                          "a in (b)", "!", "a,,b", "=,="]))
QUERY_KEYS = st.sampled_from(["labelSelector", "fieldSelector", "limit", "continue",
                              "resourceVersion", "resourceVersionMatch", "timeoutSeconds",
                              "dryRun", "fieldValidation", "propagationPolicy",
                              "gracePeriodSeconds", "orphanDependents", "allowWatchBookmarks",
                              "pretty", "fieldManager", "force"])
QUERIES = st.lists(st.tuples(QUERY_KEYS, QUERY_VALUES), max_size=4)

JSON_PATCH_OPS = st.lists(
    st.one_of(
        st.fixed_dictionaries({
            "op": st.one_of(st.sampled_from(["add", "remove", "replace", "move", "copy", "test"]),
                            HOSTILE_TEXT),
            "path": st.one_of(st.sampled_from(["", "/", "/metadata", "/metadata/name",
                                               "/spec/containers/0", "/spec/containers/-",
                                               "/spec/replicas", "/metadata/labels/a~1b",
                                               "/spec/containers/99", "/status", "/kind",
                                               "/metadata/~2", "/spec/containers/01",
                                               "/spec/containers/-1"]), HOSTILE_TEXT, JUNK)},
            optional={"value": JUNK, "from": st.one_of(HOSTILE_TEXT, st.sampled_from(
                ["/metadata", "/spec", "", "/metadata/name"]))}),
        JUNK),
    max_size=4)
SMP_DIRECTIVES = st.dictionaries(
    st.sampled_from(["$patch", "$retainKeys", "$setElementOrder/containers",
                     "$deleteFromPrimitiveList/finalizers", "$setElementOrder/ports",
                     "$deleteFromPrimitiveList/args", "$setElementOrder/", "$retainKeys/x"]),
    st.one_of(JUNK, st.sampled_from(["replace", "delete", "merge", "nonsense"]),
              st.lists(st.one_of(HOSTILE_TEXT, JUNK,
                                 st.fixed_dictionaries({"name": HOSTILE_TEXT}))),
              st.just([{"$patch": "delete"}]), st.just([{"$patch": "replace"}])),
    min_size=1, max_size=3)


@st.composite
def strategic_patch(draw: st.DrawFn, kind: kinds.Kind) -> Obj:
    """A patch of the seed with SMP directives planted at a few of its maps."""
    doc = draw(mutated(draw(seed_base(kind)), max_mutations=1))
    maps = [p for p in _paths(doc) if isinstance(_at(doc, p), dict)] or [()]
    for _ in range(draw(st.integers(1, 3))):
        spot = _at(doc, draw(st.sampled_from(maps)))
        if isinstance(spot, dict):
            spot.update(copy.deepcopy(draw(SMP_DIRECTIVES)))  # st.just shares its value
    lists = [p for p in _paths(doc) if isinstance(_at(doc, p), list)]
    if lists and draw(st.booleans()):
        target = _at(doc, draw(st.sampled_from(lists)))
        target.append(copy.deepcopy(draw(st.one_of(
            st.just({"$patch": "delete"}), st.just({"$patch": "replace"}),
            st.fixed_dictionaries({"$patch": JUNK, "name": JUNK})))))
    return doc


def _at(doc: Any, path: tuple) -> Any:
    for p in path:
        doc = doc[p]
    return doc


# Over the API's 3 MiB limit for a body (ApiConfig.max_body_bytes).
OVERSIZED = b'{"metadata":{"name":"big"},"data":{"k":"' + b"x" * (3 * 1024 * 1024) + b'"}}'
RAW_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"{", b"[]", b"null", b"1", b'"x"', b"{\"a\":NaN}", b"{\"a\":Infinity}",
                     b"\xff\xfe{}", b"{\"metadata\":{\"name\":\"a\",\"name\":\"b\"}}",
                     b"{\"kind\":\"Pod\",\"kind\":[]}", b"[" * 5000 + b"]" * 5000,
                     b"{\"a\":" * 200 + b"1" + b"}" * 200, b"a: &x [1]\nb: *x\n",
                     b"!!python/object:os.system {}", b"- a\n- b\n", b"\t\n",
                     OVERSIZED]),
)
CONTENT_TYPES = st.sampled_from(["application/json", "application/yaml", "text/plain", "",
                                 "application/json-patch+json", "application/merge-patch+json",
                                 "application/strategic-merge-patch+json",
                                 "application/json; charset=latin-1", "multipart/form-data"])


DELETE_OPTIONS = st.one_of(
    JUNK,
    st.fixed_dictionaries({}, optional={
        "kind": st.one_of(st.just("DeleteOptions"), HOSTILE_TEXT),
        "gracePeriodSeconds": st.one_of(NUMBERS, HOSTILE_TEXT, st.none()),
        "propagationPolicy": st.one_of(HOSTILE_TEXT, JUNK),
        "orphanDependents": JUNK,
        "dryRun": st.one_of(st.just(["All"]), JUNK),
        "preconditions": st.one_of(JUNK, st.fixed_dictionaries(
            {}, optional={"uid": JUNK, "resourceVersion": st.one_of(JUNK, HOSTILE_TEXT)})),
    }),
)


SEGMENTS = st.one_of(
    HOSTILE_TEXT.map(lambda s: s.replace("/", "%2F")),
    st.sampled_from(["..", ".", "%2F", "%2e%2e", "%00", "a%2Fb", "", "x" * 2000, "%", "%zz",
                     "namespaces", "status", "scale", "log", "pods", "~", "%C0%AF", "a;b",
                     "a?b=c", "#frag"]),
)


def _quote_unsafe(segment: str) -> str:
    """Percent-encode what an HTTP request line cannot carry raw (space, controls,
    non-ASCII) and leave the rest, ``..`` and ``%2F`` included, as a client sent it."""
    out = []
    for ch in segment:
        if ch.isascii() and ch.isprintable() and ch not in " \"<>\\^`{|}#?":
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


@st.composite
def hostile_paths(draw: st.DrawFn) -> str:
    kind = draw(KIND)
    prefix = draw(st.sampled_from([kind.group_version_prefix, "/api", "/apis", "/apis/apps",
                                   "/api/v2", "/apis/x/v1", ""]))
    shape = draw(st.sampled_from(["cluster", "namespaced", "free"]))
    seg = [_quote_unsafe(s) for s in draw(st.lists(SEGMENTS, min_size=1, max_size=4))]
    if shape == "cluster":
        parts = [kind.plural, *seg]
    elif shape == "namespaced":
        parts = ["namespaces", seg[0], kind.plural, *seg[1:]]
    else:
        parts = seg
    sep = draw(st.sampled_from(["/", "//"]))
    return prefix + "/" + sep.join(parts)


WATCH_QUERIES = st.lists(st.tuples(st.sampled_from(
    ["labelSelector", "fieldSelector", "resourceVersion", "allowWatchBookmarks",
     "sendInitialEvents", "resourceVersionMatch", "limit", "continue"]), QUERY_VALUES), max_size=3)


BAD_MANIFEST_TEXT = st.one_of(
    st.text(max_size=80),
    st.sampled_from([
        "", "---\n", "- a\n- b\n", "kind: Pod\n", "apiVersion: v1\n", "{", "[", "'",
        "kind: [Pod]\napiVersion: v1\nmetadata: {name: x}\n",
        "kind: Pod\napiVersion: {v: 1}\nmetadata: {name: x}\n",
        "kind: Nope\napiVersion: v1\nmetadata: {name: x}\n",
        "kind: Pod\napiVersion: v1\nmetadata: [x]\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: [x]}\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: x, namespace: {a: b}}\n",
        "kind: List\napiVersion: v1\nitems: 3\n",
        "kind: List\napiVersion: v1\nitems: [3, null, {kind: 1}]\n",
        "a: &x [1]\nb: *x\n", "!!python/object:os.system {}\n", "\t- x\n",
        "kind: Pod\napiVersion: v1\nmetadata: {name: x}\n---\n- 1\n",
        "kind: Pod\napiVersion: v1\nmetadata:\n  name: x\n  name: y\n",
        "\x00", "\ufeffkind: Pod", "kind: Pod\napiVersion: v1\nmetadata: {name: 1e400}\n",
    ]),
)


KIND = st.sampled_from(KIND_LIST)


# ---- bodies that are answered, never stored: the reviews and TokenRequest

REVIEW_KINDS = [k for k in kinds.KINDS if k.strategy.review]
REVIEW_SAMPLES: dict[str, list[Obj]] = {
    "SelfSubjectAccessReview": [
        {"spec": {"resourceAttributes": {"namespace": NAMESPACE, "verb": "create",
                                         "group": "", "resource": "pods",
                                         "subresource": "exec", "name": "fuzz-seed"}}},
        {"spec": {"resourceAttributes": {"verb": "list", "group": "apps",
                                         "resource": "deployments"}}},
        {"spec": {"nonResourceAttributes": {"path": "/healthz", "verb": "get"}}}],
    "SelfSubjectReview": [{}],
}
# POSTed to the seed ServiceAccount's token subresource: unbound, and bound to
# the seed pod (which runs as another account: a 409).
TOKEN_REQUESTS: list[Obj] = [
    {"spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600}},
    {"spec": {"audiences": None, "expirationSeconds": None,
              "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "fuzz-seed"}}},
]


def review_base(kind: kinds.Kind) -> st.SearchStrategy[Obj]:
    """A valid review of ``kind`` to spoil."""
    def typed(body: Obj) -> Obj:
        body = copy.deepcopy(body)
        body.update(kind=kind.kind, apiVersion=kind.api_version, metadata={})
        return body
    return st.sampled_from(REVIEW_SAMPLES[kind.kind]).map(typed)


def token_request_base() -> st.SearchStrategy[Obj]:
    """A valid TokenRequest to spoil."""
    def typed(body: Obj) -> Obj:
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": "fuzz-seed"}, **copy.deepcopy(body)}
    return st.sampled_from(TOKEN_REQUESTS).map(typed)


# ---- richer valid objects: more fields to get wrong

RICH_POD_SPEC = {
    "initContainers": [{"name": "init", "image": "busybox:1.36", "command": ["sh", "-c", "true"]}],
    "containers": [{
        "name": "app", "image": "web:1", "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/web"], "args": ["--port", "8080"], "workingDir": "/srv",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP", "hostPort": 18080}],
        "env": [{"name": "A", "value": "1"},
                {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}},
                {"name": "C", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password",
                                                             "optional": True}}},
                {"name": "D", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "E", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}}],
        "envFrom": [{"configMapRef": {"name": "cfg"}, "prefix": "CFG_"}],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                      "limits": {"cpu": "1", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10,
                          "failureThreshold": 3, "initialDelaySeconds": 1},
        "readinessProbe": {"tcpSocket": {"port": 8080}, "timeoutSeconds": 2},
        "startupProbe": {"exec": {"command": ["true"]}},
        "volumeMounts": [{"name": "data", "mountPath": "/data"},
                         {"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True,
                          "subPath": "k"}],
        "securityContext": {"runAsUser": 1000, "privileged": False,
                            "capabilities": {"add": ["NET_ADMIN"]}},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "1"]}}},
    }],
    "volumes": [{"name": "data", "emptyDir": {"sizeLimit": "1Gi"}},
                {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "k", "path": "k"}],
                                              "defaultMode": 420}},
                {"name": "sec", "secret": {"secretName": "s"}},
                {"name": "host", "hostPath": {"path": "/var/log", "type": "Directory"}},
                {"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "down", "downwardAPI": {"items": [
                    {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
    "nodeSelector": {"disk": "ssd"},
    "tolerations": [{"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"},
                    {"operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}],
    "affinity": {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 10, "preference": {"matchExpressions": [
                    {"key": "disk", "operator": "Exists"}]}}]},
        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}},
    "hostname": "web", "subdomain": "web", "priority": 0, "schedulerName": "default-scheduler",
    "imagePullSecrets": [{"name": "s"}], "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["a"]}],
    "dnsConfig": {"nameservers": ["10.0.0.10"], "searches": ["a.local"],
                  "options": [{"name": "ndots", "value": "2"}]},
    "securityContext": {"fsGroup": 2000},
}
_TEMPLATE = {"metadata": {"labels": {"app": "web"}, "annotations": {"a": "b"}},
             "spec": RICH_POD_SPEC}
_SELECTOR = {"matchLabels": {"app": "web"},
             "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}
RICH: dict[str, Obj] = {
    "Pod": {"metadata": {"name": "rich", "labels": {"app": "web"}}, "spec": RICH_POD_SPEC},
    "Deployment": {"metadata": {"name": "rich"}, "spec": {
        "replicas": 3, "selector": _SELECTOR, "template": _TEMPLATE, "minReadySeconds": 5,
        "revisionHistoryLimit": 3, "progressDeadlineSeconds": 60,
        "strategy": {"type": "RollingUpdate",
                     "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}}},
    "ReplicaSet": {"metadata": {"name": "rich"}, "spec": {
        "replicas": 2, "selector": _SELECTOR, "template": _TEMPLATE}},
    "StatefulSet": {"metadata": {"name": "rich"}, "spec": {
        "replicas": 2, "serviceName": "web", "selector": _SELECTOR, "template": _TEMPLATE,
        "podManagementPolicy": "Parallel",
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 1}},
        "volumeClaimTemplates": [{"metadata": {"name": "vol"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
    "DaemonSet": {"metadata": {"name": "rich"}, "spec": {
        "selector": _SELECTOR, "template": _TEMPLATE,
        "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "10%"}}}},
    "Job": {"metadata": {"name": "rich"}, "spec": {
        "completions": 3, "parallelism": 2, "backoffLimit": 4, "activeDeadlineSeconds": 600,
        "ttlSecondsAfterFinished": 60, "completionMode": "Indexed",
        "template": {"spec": {**RICH_POD_SPEC, "restartPolicy": "Never"}}}},
    "CronJob": {"metadata": {"name": "rich"}, "spec": {
        "schedule": "0 */2 * * 1-5", "concurrencyPolicy": "Forbid", "suspend": False,
        "startingDeadlineSeconds": 100, "successfulJobsHistoryLimit": 2,
        "failedJobsHistoryLimit": 1, "timeZone": "Etc/UTC",
        "jobTemplate": {"spec": {"template": {"spec": {**RICH_POD_SPEC,
                                                       "restartPolicy": "OnFailure"}}}}}},
    "Service": {"metadata": {"name": "rich"}, "spec": {
        "type": "NodePort", "selector": {"app": "web"}, "sessionAffinity": "ClientIP",
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                  {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353}]}},
    "Node": {"metadata": {"name": "rich", "labels": {"zone": "a"}}, "spec": {
        "unschedulable": True, "podCIDR": "10.244.3.0/24",
        "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}},
    "Secret": {"metadata": {"name": "rich"}, "type": "Opaque",
               "stringData": {"user": "admin"}, "data": {"pw": "aHVudGVyMg=="}},
    "PersistentVolume": {"metadata": {"name": "rich"}, "spec": {
        "capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce", "ReadOnlyMany"],
        "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
        "hostPath": {"path": "/srv/rich"},
        "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": ["n1"]}]}]}}}},
    "PersistentVolumeClaim": {"metadata": {"name": "rich"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "fast", "volumeMode": "Filesystem",
        "resources": {"requests": {"storage": "1Gi"}, "limits": {"storage": "2Gi"}},
        "selector": {"matchLabels": {"tier": "a"}}}},
    "HorizontalPodAutoscaler": {"metadata": {"name": "rich"}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d1"},
        "minReplicas": 2, "maxReplicas": 5,
        "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 60}}}],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 60, "policies": [
            {"type": "Pods", "value": 1, "periodSeconds": 60}]}}}},
    "ResourceQuota": {"metadata": {"name": "rich"}, "spec": {"hard": {
        "pods": "10", "requests.cpu": "4", "limits.memory": "8Gi", "count/configmaps": "5"}}},
    "Endpoints": {"metadata": {"name": "rich"}, "subsets": [{
        "addresses": [{"ip": "10.244.1.5", "nodeName": "n1",
                       "targetRef": {"kind": "Pod", "name": "p", "namespace": "default"}}],
        "notReadyAddresses": [{"ip": "10.244.1.6"}],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}]},
    "StorageClass": {"metadata": {"name": "rich"}, "provisioner": "example.com/fast",
                     "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer",
                     "parameters": {"type": "ssd"}, "allowVolumeExpansion": True},
}
