"""The kind registry: every kind is one module with one strategy, the CLI's
tables come from the strategies' printer columns (and print exactly what
``cox get`` printed before they moved there), and no code outside
``coxapi/kinds`` branches on a kind's name."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli import printers
from coxapi import kinds
from coxapi.kinds.strategy import ABSENT, Strategy
from master.api import authz
from master.api.paths import Target
from master.auth import User

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)


def ts(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the registry ---------------------------------------------------------------


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda k: k.kind)
def test_every_kind_has_its_own_module_and_strategy(kind: kinds.Kind) -> None:
    module = importlib.import_module(f"coxapi.kinds.{kind.singular}")
    assert module.KIND is kind
    assert isinstance(kind.strategy, Strategy)
    assert type(kind.strategy) is not Strategy, "a kind's strategy is its own subclass"
    assert kind.strategy.columns, "every kind prints at least one column"


def test_names_are_unique_and_lookup_finds_every_name() -> None:
    owner: dict[str, str] = {}
    for k in kinds.KINDS:
        for n in {k.kind.lower(), k.plural, *k.short_names}:
            assert owner.setdefault(n, k.kind) == k.kind, f"{n} names {owner[n]} and {k.kind}"
    for k in kinds.KINDS:
        for n in (k.kind, k.plural, k.singular, *k.short_names, f"{k.plural}.{k.group}"):
            assert kinds.lookup(n.upper()) is k
        assert kinds.named(k.kind) is k
    assert kinds.named("pods") is None  # an object's kind field is matched exactly
    with pytest.raises(kinds.UnknownKind):
        kinds.lookup("widgets")


def test_group_versions_and_for_object() -> None:
    gv = kinds.group_versions()
    assert [k.kind for k in gv["apps/v1"]] == ["ReplicaSet", "Deployment", "StatefulSet",
                                             "DaemonSet"]
    assert [k.kind for k in gv["batch/v1"]] == ["Job", "CronJob"]
    assert sum(len(v) for v in gv.values()) == len(kinds.KINDS)
    assert kinds.for_object({"kind": "Deployment", "apiVersion": "apps/v1"}).plural == "deployments"
    with pytest.raises(kinds.UnknownKind):
        kinds.for_object({"kind": "Deployment", "apiVersion": "v1"})


# ---- printer columns --------------------------------------------------------------


def meta(name: str, age: float, **extra: object) -> dict:
    return {"name": name, "namespace": "prod", "creationTimestamp": ts(age), **extra}


SAMPLES: dict[str, list[dict]] = {
    "Pod": [
        {"metadata": meta("web-1", 60, labels={"app": "web"}),
         "spec": {"nodeName": "n1", "containers": [{"name": "a"}, {"name": "b"}]},
         "status": {"phase": "Running", "podIP": "10.244.1.5", "containerStatuses": [
             {"ready": True, "restartCount": 2, "state": {"running": {}},
              "lastState": {"terminated": {"finishedAt": ts(90)}}},
             {"ready": False, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
        {"metadata": meta("pending", 5), "spec": {"containers": [{"name": "a"}]},
         "status": {"phase": "Pending"}},
        {"metadata": {"name": "bare"}},
    ],
    "StatefulSet": [
        {"metadata": meta("db", 30),
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "db"}},
                  "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}},
         "status": {"readyReplicas": 2}},
    ],
    "PersistentVolume": [
        {"metadata": {"name": "pvc-1", "creationTimestamp": ts(30)},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                  "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local-path",
                  "claimRef": {"namespace": "prod", "name": "data"}},
         "status": {"phase": "Bound"}},
    ],
    "PersistentVolumeClaim": [
        {"metadata": meta("data", 30),
         "spec": {"volumeName": "pvc-1", "storageClassName": "local-path"},
         "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce", "ReadOnlyMany"]}},
    ],
    "StorageClass": [
        {"metadata": {"name": "local-path", "creationTimestamp": ts(30), "annotations": {
            "storageclass.kubernetes.io/is-default-class": "true"}},
         "provisioner": "coxswain.io/local-path", "reclaimPolicy": "Delete",
         "volumeBindingMode": "WaitForFirstConsumer"},
    ],
    "Deployment": [
        {"metadata": meta("web", 30),
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
             {"key": "tier", "operator": "In", "values": ["a", "b"]},
             {"key": "x", "operator": "Exists"}, {"key": "y", "operator": "DoesNotExist"}]},
                  "template": {"spec": {"containers": [{"name": "c", "image": "img:1"},
                                                       {"name": "d", "image": "img:2"}]}}},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}},
        {"metadata": meta("empty", 7200), "spec": {}},
    ],
    "ReplicaSet": [
        {"metadata": meta("web-5d", 30),
         "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"spec": {"containers": [{"name": "c", "image": "img:1"}]}}},
         "status": {"replicas": 3, "readyReplicas": 1}},
        {"metadata": meta("none", 3 * 86400)},
    ],
    "Service": [
        {"metadata": meta("web", 30),
         "spec": {"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
                  "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"},
                            {"port": 53, "protocol": "UDP"}]}},
        {"metadata": meta("lb", 30), "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.11",
                                              "externalIPs": ["1.2.3.4"], "ports": []},
         "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example"}]}}},
        {"metadata": meta("pending-lb", 30), "spec": {"type": "LoadBalancer"}},
        {"metadata": meta("ext", 30), "spec": {"type": "ExternalName", "externalName": "db.example"}},
        {"metadata": meta("bare", 30)},
    ],
    "Node": [
        {"metadata": {"name": "n1", "creationTimestamp": ts(3 * 86400),
                      "labels": {"node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"}},
         "spec": {"unschedulable": True},
         "status": {"conditions": [{"type": "Ready", "status": "True"}],
                    "addresses": [{"type": "InternalIP", "address": "10.250.0.11"},
                                  {"type": "ExternalIP", "address": "203.0.113.4"}],
                    "nodeInfo": {"kubeletVersion": "v0.1.0", "osImage": "Debian",
                                 "kernelVersion": "6.1", "containerRuntimeVersion": "docker://24"}}},
        {"metadata": {"name": "n2", "creationTimestamp": ts(100)},
         "status": {"conditions": [{"type": "Ready", "status": "False"}]}},
        {"metadata": {"name": "n3"}},
    ],
    "Endpoints": [
        {"metadata": meta("web", 5), "subsets": [
            {"addresses": [{"ip": f"10.244.0.{i}"} for i in range(5)], "ports": [{"port": 80}]}]},
        {"metadata": meta("noports", 5), "subsets": [{"addresses": [{"ip": "10.244.0.9"}]}]},
        {"metadata": meta("empty", 5)},
    ],
    "Namespace": [
        {"metadata": {"name": "prod", "creationTimestamp": ts(5)}, "status": {"phase": "Terminating"}},
        {"metadata": {"name": "new", "creationTimestamp": ts(5)}},
    ],
    "ConfigMap": [
        {"metadata": meta("cfg", 5), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
        {"metadata": meta("empty", 5)},
    ],
    "Secret": [
        {"metadata": meta("tls", 5), "type": "kubernetes.io/tls", "data": {"a": "MQ=="},
         "stringData": {"b": "2"}},
        {"metadata": meta("plain", 5)},
    ],
    "Event": [
        {"metadata": meta("web.1", 5), "type": "Warning", "reason": "BackOff",
         "lastTimestamp": ts(7), "involvedObject": {"kind": "Pod", "name": "web-1"},
         "message": "Back-off  restarting\n failed"},
        {"metadata": meta("web.0", 50), "type": "Normal", "reason": "Scheduled",
         "eventTime": ts(40), "involvedObject": {"kind": "Pod", "name": "web-1"}},
        {"metadata": meta("old", 500)},
    ],
    "Lease": [
        {"metadata": meta("n1", 5), "spec": {"holderIdentity": "n1"}},
        {"metadata": meta("free", 5), "spec": {}},
    ],
    "ResourceQuota": [
        {"metadata": meta("compute", 30),
         "spec": {"hard": {"count/pods": "10", "requests.cpu": "1", "limits.memory": "1Gi"}},
         "status": {"used": {"count/pods": "2", "requests.cpu": "500m",
                             "limits.memory": "256Mi"}}},
        {"metadata": meta("new", 5), "spec": {"hard": {"pods": "3"}}, "status": {}},
    ],
    "Job": [
        {"metadata": meta("pi", 300), "spec": {"completions": 5, "parallelism": 2},
         "status": {"succeeded": 5, "startTime": ts(290), "completionTime": ts(200),
                    "conditions": [{"type": "Complete", "status": "True"}]}},
        {"metadata": meta("queue", 30), "spec": {"parallelism": 3},
         "status": {"startTime": ts(25)}},
        {"metadata": meta("new", 1)},
    ],
    "CronJob": [
        {"metadata": meta("tick", 600), "spec": {"schedule": "*/5 * * * *", "timeZone": "UTC"},
         "status": {"active": [{"name": "tick-1"}], "lastScheduleTime": ts(60)}},
        {"metadata": meta("idle", 600), "spec": {"schedule": "@hourly", "suspend": True}},
    ],
    "HorizontalPodAutoscaler": [
        {"metadata": meta("web", 60),
         "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1,
                  "maxReplicas": 10, "metrics": [{"type": "Resource", "resource": {
                      "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]},
         "status": {"currentReplicas": 3, "currentMetrics": [{"type": "Resource", "resource": {
             "name": "cpu", "current": {"averageUtilization": 35, "averageValue": "35m"}}}]}},
        {"metadata": meta("new", 5), "spec": {"scaleTargetRef": {"kind": "Deployment",
                                                                 "name": "api"},
                                              "maxReplicas": 3}},
    ],
    "DaemonSet": [
        {"metadata": meta("agent", 60),
         "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
         "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                    "updatedNumberScheduled": 2, "numberAvailable": 1}},
        {"metadata": meta("bare", 60)},
    ],
    "ServiceAccount": [{"metadata": meta("default", 60)}],
    "Role": [{"metadata": meta("reader", 60), "rules": []}],
    "ClusterRole": [{"metadata": meta("view", 60), "rules": []}],
    "RoleBinding": [{"metadata": meta("rb", 60),
                     "roleRef": {"kind": "ClusterRole", "name": "view"}}],
    "ClusterRoleBinding": [{"metadata": meta("crb", 60),
                            "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}],
    "SelfSubjectAccessReview": [{"metadata": {}, "status": {"allowed": True}}],
    "SelfSubjectReview": [{"metadata": {}, "status": {"userInfo": {"username": "admin"}}}],
}

VARIANTS = (
    {},
    {"wide": True},
    {"wide": True, "all_namespaces": True, "show_labels": True},
)

# What ``cox get`` printed for SAMPLES before the columns moved to the kinds
# (cells joined with "|"; rows in the order printed).
BEFORE: dict[str, list[str]] = {
    "ConfigMap/0": [
        "NAME|DATA|AGE",
        "cfg|3|5s",
        "empty|0|5s",
    ],
    "ConfigMap/1": [
        "NAME|DATA|AGE",
        "cfg|3|5s",
        "empty|0|5s",
    ],
    "ConfigMap/2": [
        "NAMESPACE|NAME|DATA|AGE|LABELS",
        "prod|cfg|3|5s|<none>",
        "prod|empty|0|5s|<none>",
    ],
    "StatefulSet/0": [
        "NAME|READY|AGE",
        "db|2/3|30s",
    ],
    "StatefulSet/1": [
        "NAME|READY|AGE|CONTAINERS|IMAGES|SELECTOR",
        "db|2/3|30s|c|img:1|app=db",
    ],
    "PersistentVolume/0": [
        "NAME|CAPACITY|ACCESS MODES|RECLAIM POLICY|STATUS|CLAIM|STORAGECLASS|AGE",
        "pvc-1|1Gi|RWO|Delete|Bound|prod/data|local-path|30s",
    ],
    "PersistentVolumeClaim/0": [
        "NAME|STATUS|VOLUME|CAPACITY|ACCESS MODES|STORAGECLASS|AGE",
        "data|Bound|pvc-1|1Gi|RWO,ROX|local-path|30s",
    ],
    "StorageClass/0": [
        "NAME|PROVISIONER|RECLAIMPOLICY|VOLUMEBINDINGMODE|AGE",
        "local-path|coxswain.io/local-path (default)|Delete|WaitForFirstConsumer|30s",
    ],
    "Deployment/0": [
        "NAME|READY|UP-TO-DATE|AVAILABLE|AGE",
        "web|2/3|3|2|30s",
        "empty|0/1|0|0|120m",
    ],
    "Deployment/1": [
        "NAME|READY|UP-TO-DATE|AVAILABLE|AGE|CONTAINERS|IMAGES|SELECTOR",
        "web|2/3|3|2|30s|c,d|img:1,img:2|app=web,tier in (a,b),x,!y",
        "empty|0/1|0|0|120m|<none>|<none>|<none>",
    ],
    "Deployment/2": [
        "NAMESPACE|NAME|READY|UP-TO-DATE|AVAILABLE|AGE|CONTAINERS|IMAGES|SELECTOR|LABELS",
        "prod|web|2/3|3|2|30s|c,d|img:1,img:2|app=web,tier in (a,b),x,!y|<none>",
        "prod|empty|0/1|0|0|120m|<none>|<none>|<none>|<none>",
    ],
    "Endpoints/0": [
        "NAME|ENDPOINTS|AGE",
        "web|10.244.0.0:80,10.244.0.1:80,10.244.0.2:80 + 2 more...|5s",
        "noports|10.244.0.9|5s",
        "empty|<none>|5s",
    ],
    "Endpoints/1": [
        "NAME|ENDPOINTS|AGE",
        "web|10.244.0.0:80,10.244.0.1:80,10.244.0.2:80 + 2 more...|5s",
        "noports|10.244.0.9|5s",
        "empty|<none>|5s",
    ],
    "Endpoints/2": [
        "NAMESPACE|NAME|ENDPOINTS|AGE|LABELS",
        "prod|web|10.244.0.0:80,10.244.0.1:80,10.244.0.2:80 + 2 more...|5s|<none>",
        "prod|noports|10.244.0.9|5s|<none>",
        "prod|empty|<none>|5s|<none>",
    ],
    "Event/0": [
        "LAST SEEN|TYPE|REASON|OBJECT|MESSAGE",
        "8m20s|||/|",
        "40s|Normal|Scheduled|pod/web-1|",
        "7s|Warning|BackOff|pod/web-1|Back-off restarting failed",
    ],
    "Event/1": [
        "LAST SEEN|TYPE|REASON|OBJECT|MESSAGE",
        "8m20s|||/|",
        "40s|Normal|Scheduled|pod/web-1|",
        "7s|Warning|BackOff|pod/web-1|Back-off restarting failed",
    ],
    "Event/2": [
        "NAMESPACE|LAST SEEN|TYPE|REASON|OBJECT|MESSAGE|LABELS",
        "prod|8m20s|||/||<none>",
        "prod|40s|Normal|Scheduled|pod/web-1||<none>",
        "prod|7s|Warning|BackOff|pod/web-1|Back-off restarting failed|<none>",
    ],
    "Lease/0": [
        "NAME|HOLDER|AGE",
        "n1|n1|5s",
        "free||5s",
    ],
    "Lease/1": [
        "NAME|HOLDER|AGE",
        "n1|n1|5s",
        "free||5s",
    ],
    "Lease/2": [
        "NAMESPACE|NAME|HOLDER|AGE|LABELS",
        "prod|n1|n1|5s|<none>",
        "prod|free||5s|<none>",
    ],
    "ResourceQuota/0": [
        "NAME|AGE|REQUEST|LIMIT",
        "compute|30s|count/pods: 2/10, requests.cpu: 500m/1|limits.memory: 256Mi/1Gi",
        "new|5s|pods: 0/3|",
    ],
    "ResourceQuota/1": [
        "NAME|AGE|REQUEST|LIMIT",
        "compute|30s|count/pods: 2/10, requests.cpu: 500m/1|limits.memory: 256Mi/1Gi",
        "new|5s|pods: 0/3|",
    ],
    "ResourceQuota/2": [
        "NAMESPACE|NAME|AGE|REQUEST|LIMIT|LABELS",
        "prod|compute|30s|count/pods: 2/10, requests.cpu: 500m/1|limits.memory: 256Mi/1Gi|<none>",
        "prod|new|5s|pods: 0/3||<none>",
    ],
    "Namespace/0": [
        "NAME|STATUS|AGE",
        "prod|Terminating|5s",
        "new|Active|5s",
    ],
    "Namespace/1": [
        "NAME|STATUS|AGE",
        "prod|Terminating|5s",
        "new|Active|5s",
    ],
    "Namespace/2": [
        "NAME|STATUS|AGE|LABELS",
        "prod|Terminating|5s|<none>",
        "new|Active|5s|<none>",
    ],
    "Node/0": [
        "NAME|STATUS|ROLES|AGE|VERSION",
        "n1|Ready,SchedulingDisabled|edge,worker|3d|v0.1.0",
        "n2|NotReady|<none>|100s|",
        "n3|Unknown|<none>|<unknown>|",
    ],
    "Node/1": [
        "NAME|STATUS|ROLES|AGE|VERSION|INTERNAL-IP|EXTERNAL-IP|OS-IMAGE|KERNEL-VERSION|CONTAINER-RUNTIME",
        "n1|Ready,SchedulingDisabled|edge,worker|3d|v0.1.0|10.250.0.11|203.0.113.4|Debian|6.1|docker://24",
        "n2|NotReady|<none>|100s||<none>|<none>|<unknown>|<unknown>|<unknown>",
        "n3|Unknown|<none>|<unknown>||<none>|<none>|<unknown>|<unknown>|<unknown>",
    ],
    "Node/2": [
        "NAME|STATUS|ROLES|AGE|VERSION|INTERNAL-IP|EXTERNAL-IP|OS-IMAGE|KERNEL-VERSION|CONTAINER-RUNTIME|LABELS",
        "n1|Ready,SchedulingDisabled|edge,worker|3d|v0.1.0|10.250.0.11|203.0.113.4|Debian|6.1|docker://24|node-role.kubernetes.io/worker=,kubernetes.io/role=edge",
        "n2|NotReady|<none>|100s||<none>|<none>|<unknown>|<unknown>|<unknown>|<none>",
        "n3|Unknown|<none>|<unknown>||<none>|<none>|<unknown>|<unknown>|<unknown>|<none>",
    ],
    "Pod/0": [
        "NAME|READY|STATUS|RESTARTS|AGE",
        "web-1|1/2|CrashLoopBackOff|3 (90s ago)|60s",
        "pending|0/1|Pending|0|5s",
        "bare|0/0|Unknown|0|<unknown>",
    ],
    "Pod/1": [
        "NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES",
        "web-1|1/2|CrashLoopBackOff|3 (90s ago)|60s|10.244.1.5|n1|<none>|<none>",
        "pending|0/1|Pending|0|5s|<none>|<none>|<none>|<none>",
        "bare|0/0|Unknown|0|<unknown>|<none>|<none>|<none>|<none>",
    ],
    "Pod/2": [
        "NAMESPACE|NAME|READY|STATUS|RESTARTS|AGE|IP|NODE|NOMINATED NODE|READINESS GATES|LABELS",
        "prod|web-1|1/2|CrashLoopBackOff|3 (90s ago)|60s|10.244.1.5|n1|<none>|<none>|app=web",
        "prod|pending|0/1|Pending|0|5s|<none>|<none>|<none>|<none>|<none>",
        "|bare|0/0|Unknown|0|<unknown>|<none>|<none>|<none>|<none>|<none>",
    ],
    "ReplicaSet/0": [
        "NAME|DESIRED|CURRENT|READY|AGE",
        "web-5d|3|3|1|30s",
        "none|1|0|0|3d",
    ],
    "ReplicaSet/1": [
        "NAME|DESIRED|CURRENT|READY|AGE|CONTAINERS|IMAGES|SELECTOR",
        "web-5d|3|3|1|30s|c|img:1|app=web",
        "none|1|0|0|3d|<none>|<none>|<none>",
    ],
    "ReplicaSet/2": [
        "NAMESPACE|NAME|DESIRED|CURRENT|READY|AGE|CONTAINERS|IMAGES|SELECTOR|LABELS",
        "prod|web-5d|3|3|1|30s|c|img:1|app=web|<none>",
        "prod|none|1|0|0|3d|<none>|<none>|<none>|<none>",
    ],
    "Secret/0": [
        "NAME|TYPE|DATA|AGE",
        "tls|kubernetes.io/tls|2|5s",
        "plain|Opaque|0|5s",
    ],
    "Secret/1": [
        "NAME|TYPE|DATA|AGE",
        "tls|kubernetes.io/tls|2|5s",
        "plain|Opaque|0|5s",
    ],
    "Secret/2": [
        "NAMESPACE|NAME|TYPE|DATA|AGE|LABELS",
        "prod|tls|kubernetes.io/tls|2|5s|<none>",
        "prod|plain|Opaque|0|5s|<none>",
    ],
    "Service/0": [
        "NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE",
        "web|NodePort|10.96.0.10|<none>|80:30080/TCP,53/UDP|30s",
        "lb|LoadBalancer|10.96.0.11|1.2.3.4,5.6.7.8,lb.example|<none>|30s",
        "pending-lb|LoadBalancer|<none>|<pending>|<none>|30s",
        "ext|ExternalName|<none>|db.example|<none>|30s",
        "bare|ClusterIP|<none>|<none>|<none>|30s",
    ],
    "Service/1": [
        "NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE|SELECTOR",
        "web|NodePort|10.96.0.10|<none>|80:30080/TCP,53/UDP|30s|app=web",
        "lb|LoadBalancer|10.96.0.11|1.2.3.4,5.6.7.8,lb.example|<none>|30s|<none>",
        "pending-lb|LoadBalancer|<none>|<pending>|<none>|30s|<none>",
        "ext|ExternalName|<none>|db.example|<none>|30s|<none>",
        "bare|ClusterIP|<none>|<none>|<none>|30s|<none>",
    ],
    "Service/2": [
        "NAMESPACE|NAME|TYPE|CLUSTER-IP|EXTERNAL-IP|PORT(S)|AGE|SELECTOR|LABELS",
        "prod|web|NodePort|10.96.0.10|<none>|80:30080/TCP,53/UDP|30s|app=web|<none>",
        "prod|lb|LoadBalancer|10.96.0.11|1.2.3.4,5.6.7.8,lb.example|<none>|30s|<none>|<none>",
        "prod|pending-lb|LoadBalancer|<none>|<pending>|<none>|30s|<none>|<none>",
        "prod|ext|ExternalName|<none>|db.example|<none>|30s|<none>|<none>",
        "prod|bare|ClusterIP|<none>|<none>|<none>|30s|<none>|<none>",
    ],
    "Job/0": [
        "NAME|STATUS|COMPLETIONS|DURATION|AGE",
        "pi|Complete|5/5|90s|5m",
        "queue|Running|0/1 of 3|25s|30s",
        "new|Running|0/1 of 1||1s",
    ],
    "Job/1": [
        "NAME|STATUS|COMPLETIONS|DURATION|AGE|CONTAINERS|IMAGES|SELECTOR",
        "pi|Complete|5/5|90s|5m|<none>|<none>|<none>",
        "queue|Running|0/1 of 3|25s|30s|<none>|<none>|<none>",
        "new|Running|0/1 of 1||1s|<none>|<none>|<none>",
    ],
    "CronJob/0": [
        "NAME|SCHEDULE|TIMEZONE|SUSPEND|ACTIVE|LAST SCHEDULE|AGE",
        "tick|*/5 * * * *|UTC|False|1|60s|10m",
        "idle|@hourly|<none>|True|0|<none>|10m",
    ],
    "CronJob/1": [
        "NAME|SCHEDULE|TIMEZONE|SUSPEND|ACTIVE|LAST SCHEDULE|AGE|CONTAINERS|IMAGES",
        "tick|*/5 * * * *|UTC|False|1|60s|10m|<none>|<none>",
        "idle|@hourly|<none>|True|0|<none>|10m|<none>|<none>",
    ],
    "HorizontalPodAutoscaler/0": [
        "NAME|REFERENCE|TARGETS|MINPODS|MAXPODS|REPLICAS|AGE",
        "web|Deployment/web|cpu: 35%/50%|1|10|3|60s",
        "new|Deployment/api|cpu: <unknown>/80%|1|3|0|5s",
    ],
    "DaemonSet/0": [
        "NAME|DESIRED|CURRENT|READY|UP-TO-DATE|AVAILABLE|NODE SELECTOR|AGE",
        "agent|2|2|1|2|1|disk=ssd|60s",
        "bare|0|0|0|0|0|<none>|60s",
    ],
    "DaemonSet/1": [
        "NAME|DESIRED|CURRENT|READY|UP-TO-DATE|AVAILABLE|NODE SELECTOR|AGE|CONTAINERS|IMAGES|SELECTOR",
        "agent|2|2|1|2|1|disk=ssd|60s|<none>|<none>|<none>",
        "bare|0|0|0|0|0|<none>|60s|<none>|<none>|<none>",
    ],
}


def test_samples_cover_every_kind() -> None:
    assert set(SAMPLES) == {k.kind for k in kinds.KINDS}


@pytest.mark.parametrize("key", sorted(BEFORE))
def test_printer_columns_print_what_cox_get_printed_before(key: str) -> None:
    kind_name, variant = key.split("/")
    kind, kw = kinds.lookup(kind_name), VARIANTS[int(variant)]
    objs = printers.sort_for_table(kind, SAMPLES[kind_name])
    rows = [printers.headers_for(kind, **kw)] + [printers.row_for(kind, o, NOW, **kw)
                                                 for o in objs]
    assert ["|".join(r) for r in rows] == BEFORE[key]


def test_wide_columns_are_priority_one() -> None:
    pod = kinds.lookup("Pod")
    assert [c.name for c in pod.strategy.columns if c.priority == 1] == [
        "IP", "NODE", "NOMINATED NODE", "READINESS GATES"]  # kubectl's
    assert printers.headers_for(pod) == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]


# ---- the node authorizer ------------------------------------------------------------

# sha256 of every write decision below as made before the rules moved to the
# kinds (reads are pinned one by one: Secrets and ConfigMaps became restricted).
AUTHZ_BEFORE = "2730a9a343d66cf52a07f78f92e9c8efea3c12830ee5bc731a27cc9730a2aa70"


AUTHZ_KINDS = ("Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "Event",
               "ReplicaSet", "Deployment", "Lease")  # the kinds the digest covers


def _node_decisions(names: tuple[str, ...] = AUTHZ_KINDS) -> dict[str, str | None]:
    user = User("system:node:n1", "uid-n1", ("system:nodes", "system:authenticated"))
    out: dict[str, str | None] = {}
    for k in map(kinds.lookup, names):
        for ns in (("kube-node-lease", "default") if k.namespaced else (None,)):
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                for url_name in (None, "n1", "n2"):
                    for sub in ((None,) if url_name is None else (None, "status")):
                        for body in ("n1", "n2"):
                            for bound in ("n1", "n2", ABSENT):
                                req = authz.Request(method, Target(k, ns, url_name, sub),
                                                    body if method == "POST" else None)
                                key = " ".join(str(x) for x in (
                                    k.kind, ns or "-", method, url_name, sub,
                                    body if method == "POST" else "-",
                                    "ABSENT" if bound == ABSENT else bound))
                                facts = authz.Facts(lambda b=bound: b, lambda _node: False)
                                out[key] = authz.decide(user, req, facts)
    return out


def test_the_node_authorizer_decides_as_before_for_every_kind() -> None:
    decisions = _node_decisions()
    allowed = {k for k, v in decisions.items() if v is None}
    assert "Lease kube-node-lease PUT n1 None - n2" in allowed
    assert "Lease default PUT n1 None - n2" not in allowed
    assert "Pod default PATCH n1 status - n1" in allowed
    assert "Pod default PATCH n1 status - ABSENT" in allowed
    assert decisions["Pod default DELETE n2 None - n2"] == "node n1 may only change pods bound to it"
    assert decisions["Secret default PUT n2 None - n2"] == "node n1 may not PUT secrets"
    digest = hashlib.sha256(json.dumps(decisions, sort_keys=True).encode()).hexdigest()
    assert digest == AUTHZ_BEFORE
    stored = tuple(k.kind for k in kinds.KINDS
                   if k.kind not in AUTHZ_KINDS and not k.strategy.review)
    later = _node_decisions(stored)  # workloads, storage, quotas, RBAC: nodes write none
    assert all(v is not None and v.startswith("node n1 may not") for v in later.values())


def test_a_node_reads_everything_but_other_pods_secrets_configmaps_and_logs() -> None:
    user = User("system:node:n1", "uid-n1", ("system:nodes",))

    def read(kind: str, name: str | None, sub: str | None = None, used: bool = False,
             watch: bool = False) -> str | None:
        k = kinds.lookup(kind)
        req = authz.Request("GET", Target(k, "default" if k.namespaced else None, name, sub),
                            watch=watch)
        return authz.decide(user, req, authz.Facts(lambda: None, lambda node: used))
    restricted = {k.kind for k in kinds.KINDS if read(k.kind, "x") is not None}
    assert restricted == {"Secret", "ConfigMap"}
    for kind in ("Secret", "ConfigMap"):
        assert read(kind, "x", used=True) is None
        assert read(kind, None, used=True) is not None
        assert read(kind, None, used=True, watch=True) is not None
    assert read("Pod", None) is None and read("Pod", "p", "log") is not None


# ---- one place per kind ------------------------------------------------------------

_NAMES = "|".join(k.kind for k in kinds.KINDS)
# A comparison with a kind's name, a membership test in a tuple of them, or a
# table keyed by them: the ways code dispatches on a kind.
_BRANCH = re.compile(
    rf"""(==|!=)\s*["']({_NAMES})["']"""
    rf"""|\bin\s*\(\s*["']({_NAMES})["']"""
    rf"""|(^|[{{,])\s*["']({_NAMES})["']\s*:\s*[A-Za-z_(]""")
# Places that name a kind for a reason other than how the API treats it.
ALLOWED = {
    # an RBAC subject's kind (User, Group, ServiceAccount), not an API dispatch
    ("coxapi/rbac.py", 'kind == "ServiceAccount"'),
    ("coxapi/validation/rbac.py", 's.get("kind") == "ServiceAccount"'),
    # a controller that watches two kinds tells its own informers apart
    ("master/controllers/deployment.py", 'kind == "Deployment"'),
    # the ReplicaSet controller adopts pods whose controller reference is a ReplicaSet
    ("master/controllers/replicaset.py", 'ref.get("kind") != "ReplicaSet"'),
    # the Job, CronJob and DaemonSet controllers find what they control by its controller reference
    ("master/controllers/job.py", 'ref.get("kind")'),
    ("master/controllers/cronjob.py", 'ref.get("kind")'),
    ("master/controllers/daemonset.py", 'ref.get("kind")'),
    # kubectl drain leaves DaemonSet pods alone (--ignore-daemonsets)
    ("coxapi/drain.py", 'ref.get("kind") == "DaemonSet"'),
    # a command that exists for one kind (kubectl rollout is per kind too), and
    # finds the ReplicaSets a Deployment controls
    ("cli/commands/rollout.py", 'kind.kind != "Deployment"'),
    ("coxapi/rollout.py", 'ref.get("kind") == "Deployment"'),
    # the dashboard never shows nor applies a Secret (its values): a UI policy, not API behaviour
    ("master/ui/actions.py", 'kind.kind == "Secret"'),
    ("master/ui/app.py", 'kind.kind == "Secret"'),
    # describe's layouts per kind (kubectl's describers), not API behaviour
    ("cli/commands/describe.py", '_LAYOUTS = {"Pod"'),
    ("cli/commands/describe.py", '"Service": _service}'),
    # a pod's env refers to a Secret or a ConfigMap by kind
    ("node/podspec.py", 'kind == "Secret"'),
    # the fake API server of the node tests ("" allows the whole file)
    ("node/testing.py", ""),
}
_SCANNED = ("coxapi", "master", "cli", "node", "netproxy", "raftstore")


def test_one_place_per_kind_no_code_outside_coxapi_kinds_branches_on_a_kind_name() -> None:
    found = []
    for top in _SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith("coxapi/kinds/"):
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _BRANCH.search(line) and not any(
                        rel == f and s in line for f, s in ALLOWED):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "dispatch on a kind belongs in its coxapi/kinds module:\n" + "\n".join(found)


def test_the_rule_catches_the_ways_code_dispatches_on_a_kind() -> None:
    for line in ('if kind.kind == "Pod":', 'if kind != "Event":', 'k in ("Service", "Node")',
                 '_BY_KIND = {"Pod": validate_pod,', '    "Secret": secret,'):
        assert _BRANCH.search(line), line
    for line in ('objects.get("Pod", ns, name)', 'if kind == "add":', 'informers["Pod"]',
                 '{"kind": "Pod", "metadata": meta}'):
        assert not _BRANCH.search(line), line
