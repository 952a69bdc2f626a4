"""Definitions of ``meta.k8s.io/v1`` shared by every kind."""

from __future__ import annotations

from .dsl import (
    Schema,
    boolean,
    int64,
    labels,
    list_of,
    obj,
    open_object,
    ref,
    string,
    strings,
    time,
)

META = "io.k8s.apimachinery.pkg.apis.meta.v1."

OWNER_REFERENCE = obj(
    "OwnerReference contains enough information to let you identify an owning object. An "
    "owning object must be in the same namespace as the dependent, or be cluster-scoped, so "
    "there is no namespace field.",
    required=("apiVersion", "kind", "name", "uid"),
    apiVersion=string("API version of the referent."),
    kind=string("Kind of the referent."),
    name=string("Name of the referent."),
    uid=string("UID of the referent."),
    controller=boolean("If true, this reference points to the managing controller."),
    blockOwnerDeletion=boolean(
        "If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner "
        "cannot be deleted from the key-value store until this reference is removed."),
)

OBJECT_META = obj(
    "ObjectMeta is metadata that all persisted resources must have, which includes all "
    "objects users must create.",
    name=string("Name must be unique within a namespace. Is required when creating resources, "
                "although some resources may allow a client to request the generation of an "
                "appropriate name automatically."),
    generateName=string("An optional prefix, used by the server, to generate a unique name "
                        "ONLY IF the Name field has not been provided."),
    namespace=string("Namespace defines the space within which each name must be unique. "
                     "An empty namespace is equivalent to the \"default\" namespace."),
    uid=string("UID is the unique in time and space value for this object. Set by the "
               "server; read-only."),
    resourceVersion=string("An opaque value that represents the internal version of this "
                           "object, used for optimistic concurrency and watches."),
    generation=int64("A sequence number representing a specific generation of the desired "
                     "state. Populated by the system. Read-only."),
    creationTimestamp=time("CreationTimestamp is a timestamp representing the server time "
                           "when this object was created. Read-only."),
    deletionTimestamp=time("The time after which this resource will be deleted, set by the "
                           "server when a graceful deletion is requested. Read-only."),
    deletionGracePeriodSeconds=int64("Number of seconds allowed for this object to "
                                     "gracefully terminate before it will be removed."),
    labels=labels("Map of string keys and values that can be used to organize and "
                  "categorize (scope and select) objects."),
    annotations=labels("Annotations is an unstructured key value map stored with a resource "
                       "that may be set by external tools to store and retrieve arbitrary "
                       "metadata."),
    ownerReferences=list_of(ref(META + "OwnerReference"),
                            "List of objects depended by this object. If ALL objects in the "
                            "list have been deleted, this object will be garbage collected."),
    finalizers=strings("Must be empty before the object is deleted from the registry. Each "
                       "entry is an identifier for the responsible component that will "
                       "remove the entry from the list."),
    managedFields=list_of(open_object("ManagedFieldsEntry is a workflow-id, a FieldSet and "
                                      "the group version of the resource that the fieldset "
                                      "applies to."),
                          "ManagedFields maps workflow-id and version to the set of fields "
                          "that are managed by that workflow."),
    selfLink=string("Deprecated: selfLink is a legacy read-only field that is no longer "
                    "populated by the system."),
)

LABEL_SELECTOR_REQUIREMENT = obj(
    "A label selector requirement is a selector that contains values, a key, and an "
    "operator that relates the key and values.",
    required=("key", "operator"),
    key=string("key is the label key that the selector applies to."),
    operator=string("operator represents a key's relationship to a set of values.",
                    ("In", "NotIn", "Exists", "DoesNotExist")),
    values=strings("values is an array of string values."),
)

LABEL_SELECTOR = obj(
    "A label selector is a label query over a set of resources. The result of matchLabels "
    "and matchExpressions are ANDed. An empty label selector matches all objects.",
    matchLabels=labels("matchLabels is a map of {key,value} pairs."),
    matchExpressions=list_of(ref(META + "LabelSelectorRequirement"),
                             "matchExpressions is a list of label selector requirements."),
)

CONDITION = obj(
    "Condition contains details for one aspect of the current state of this API Resource.",
    required=("type", "status"),
    type=string("type of condition in CamelCase."),
    status=string("status of the condition, one of True, False, Unknown."),
    observedGeneration=int64(),
    lastTransitionTime=time(),
    reason=string(),
    message=string(),
)

DEFINITIONS: dict[str, Schema] = {
    META + "ObjectMeta": OBJECT_META,
    META + "OwnerReference": OWNER_REFERENCE,
    META + "LabelSelector": LABEL_SELECTOR,
    META + "LabelSelectorRequirement": LABEL_SELECTOR_REQUIREMENT,
    META + "Condition": CONDITION,
}


def type_meta() -> dict[str, Schema]:
    """``apiVersion``, ``kind`` and ``metadata``: the start of every kind."""
    return {
        "apiVersion": string("APIVersion defines the versioned schema of this representation "
                             "of an object."),
        "kind": string("Kind is a string value representing the REST resource this object "
                       "represents."),
        "metadata": ref(META + "ObjectMeta", "Standard object's metadata."),
    }
