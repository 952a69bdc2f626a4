"""Definitions of ``apps/v1`` (Deployments, ReplicaSets) and
``coordination.k8s.io/v1`` (Leases)."""

from __future__ import annotations

from .core import CORE
from .dsl import Schema, int32, int64, int_or_string, list_of, obj, obj_of, ref, string, time
from .meta import META, type_meta

APPS = "io.k8s.api.apps.v1."
COORDINATION = "io.k8s.api.coordination.v1."

_WORKLOAD_CONDITION = obj(
    "Describes the state of a workload at a certain point.",
    required=("type", "status"),
    type=string(), status=string(), reason=string(), message=string(),
    lastUpdateTime=time(), lastTransitionTime=time(),
)


def _workload_spec(what: str, **extra: Schema) -> Schema:
    return obj_of(f"{what}Spec is the specification of a {what}.", dict(
        replicas=int32("Number of desired pods. Defaults to 1."),
        selector=ref(META + "LabelSelector", "Label selector for pods. It must match the pod "
                                             "template's labels."),
        template=ref(CORE + "PodTemplateSpec", "Template describes the pods that will be "
                                               "created."),
        minReadySeconds=int32("Minimum number of seconds for which a newly created pod should "
                              "be ready without any of its container crashing, for it to be "
                              "considered available. Defaults to 0."),
        **extra), required=("selector", "template"))


def _workload_status(what: str, **extra: Schema) -> Schema:
    return obj_of(f"{what}Status represents the current status of a {what}.", dict(
        replicas=int32(), readyReplicas=int32(), availableReplicas=int32(),
        observedGeneration=int64(), terminatingReplicas=int32(),
        conditions=list_of(ref(APPS + f"{what}Condition")), **extra))


def _kind(what: str, description: str) -> Schema:
    return obj_of(description, dict(
        **type_meta(),
        spec=ref(APPS + f"{what}Spec", f"Specification of the desired behavior of the {what}."),
        status=ref(APPS + f"{what}Status", f"Most recently observed status of the {what}.")))


DEFINITIONS: dict[str, Schema] = {
    APPS + "DeploymentStrategy": obj(
        "DeploymentStrategy describes how to replace existing pods with new ones.",
        type=string("Type of deployment. Default is RollingUpdate.",
                    ("Recreate", "RollingUpdate")),
        rollingUpdate=obj("Spec to control the desired behavior of rolling update.",
                          maxUnavailable=int_or_string(
                              "The maximum number of pods that can be unavailable during the "
                              "update."),
                          maxSurge=int_or_string(
                              "The maximum number of pods that can be scheduled above the "
                              "desired number of pods."))),
    APPS + "DeploymentSpec": _workload_spec(
        "Deployment",
        strategy=ref(APPS + "DeploymentStrategy", "The deployment strategy to use to replace "
                                                  "existing pods with new ones."),
        revisionHistoryLimit=int32("The number of old ReplicaSets to retain to allow rollback. "
                                   "Defaults to 10."),
        progressDeadlineSeconds=int32("The maximum time in seconds for a deployment to make "
                                      "progress before it is considered to be failed."),
        paused=Schema("boolean", "Indicates that the deployment is paused.")),
    APPS + "DeploymentStatus": _workload_status(
        "Deployment", updatedReplicas=int32(), unavailableReplicas=int32(),
        collisionCount=int32()),
    APPS + "DeploymentCondition": _WORKLOAD_CONDITION,
    APPS + "Deployment": _kind("Deployment", "Deployment enables declarative updates for Pods "
                                             "and ReplicaSets."),
    APPS + "ReplicaSetSpec": _workload_spec("ReplicaSet"),
    APPS + "ReplicaSetStatus": _workload_status("ReplicaSet", fullyLabeledReplicas=int32()),
    APPS + "ReplicaSetCondition": _WORKLOAD_CONDITION,
    APPS + "ReplicaSet": _kind("ReplicaSet", "ReplicaSet ensures that a specified number of pod "
                                             "replicas are running at any given time."),
    COORDINATION + "LeaseSpec": obj(
        "LeaseSpec is a specification of a Lease.",
        holderIdentity=string("holderIdentity contains the identity of the holder of a "
                              "current lease."),
        leaseDurationSeconds=int32("leaseDurationSeconds is a duration that candidates for a "
                                   "lease need to wait to force acquire it."),
        acquireTime=string(format="date-time"), renewTime=string(format="date-time"),
        leaseTransitions=int32(), strategy=string(), preferredHolder=string()),
    COORDINATION + "Lease": obj_of("Lease defines a lease concept.", dict(
        **type_meta(),
        spec=ref(COORDINATION + "LeaseSpec", "spec contains the specification of the Lease."))),
}
